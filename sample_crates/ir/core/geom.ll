; core/geom.ll -- %Point helpers.  This module carries debug info: a compile
; unit, a DIFile, one DISubprogram per function and a !dbg location on every
; instruction (as if compiled from a C file "geom.c").
;
;   @iabs             internal helper
;   @point_init       small exported
;   @point_translate  small exported
;   @point_manhattan  small exported, calls internal @iabs

%Point = type { i32, i32 }

; geom.c:3  static int iabs(int v) { return v < 0 ? -v : v; }
define internal i32 @iabs(i32 %v) !dbg !10 {
entry:
  %neg = icmp slt i32 %v, 0, !dbg !11
  %m = sub i32 0, %v, !dbg !11
  %r = select i1 %neg, i32 %m, i32 %v, !dbg !11
  ret i32 %r, !dbg !11
}

; geom.c:6  void point_init(struct Point *p, int x, int y)
define void @point_init(ptr %p, i32 %x, i32 %y) !dbg !20 {
entry:
  %px = getelementptr inbounds %Point, ptr %p, i32 0, i32 0, !dbg !21
  store i32 %x, ptr %px, align 4, !dbg !21
  %py = getelementptr inbounds %Point, ptr %p, i32 0, i32 1, !dbg !22
  store i32 %y, ptr %py, align 4, !dbg !22
  ret void, !dbg !23
}

; geom.c:12  void point_translate(struct Point *p, int dx, int dy)
define void @point_translate(ptr %p, i32 %dx, i32 %dy) !dbg !30 {
entry:
  %px = getelementptr inbounds %Point, ptr %p, i32 0, i32 0, !dbg !31
  %x = load i32, ptr %px, align 4, !dbg !31
  %x2 = add i32 %x, %dx, !dbg !31
  store i32 %x2, ptr %px, align 4, !dbg !31
  %py = getelementptr inbounds %Point, ptr %p, i32 0, i32 1, !dbg !32
  %y = load i32, ptr %py, align 4, !dbg !32
  %y2 = add i32 %y, %dy, !dbg !32
  store i32 %y2, ptr %py, align 4, !dbg !32
  ret void, !dbg !33
}

; geom.c:18  int point_manhattan(const struct Point *p)
define i32 @point_manhattan(ptr %p) !dbg !40 {
entry:
  %px = getelementptr inbounds %Point, ptr %p, i32 0, i32 0, !dbg !41
  %x = load i32, ptr %px, align 4, !dbg !41
  %py = getelementptr inbounds %Point, ptr %p, i32 0, i32 1, !dbg !41
  %y = load i32, ptr %py, align 4, !dbg !41
  %ax = call i32 @iabs(i32 %x), !dbg !42
  %ay = call i32 @iabs(i32 %y), !dbg !43
  %d = add i32 %ax, %ay, !dbg !42
  ret i32 %d, !dbg !44
}

!llvm.dbg.cu = !{!0}
!llvm.module.flags = !{!2, !3}

!0 = distinct !DICompileUnit(language: DW_LANG_C99, file: !1, producer: "thinwatch hand-written IR", isOptimized: false, runtimeVersion: 0, emissionKind: FullDebug)
!1 = !DIFile(filename: "geom.c", directory: "/thinwatch/sample")
!2 = !{i32 7, !"Dwarf Version", i32 5}
!3 = !{i32 2, !"Debug Info Version", i32 3}
!4 = !DISubroutineType(types: !5)
!5 = !{}

!10 = distinct !DISubprogram(name: "iabs", scope: !1, file: !1, line: 3, type: !4, scopeLine: 3, flags: DIFlagPrototyped, spFlags: DISPFlagLocalToUnit | DISPFlagDefinition, unit: !0)
!11 = !DILocation(line: 3, column: 33, scope: !10)

!20 = distinct !DISubprogram(name: "point_init", scope: !1, file: !1, line: 6, type: !4, scopeLine: 6, flags: DIFlagPrototyped, spFlags: DISPFlagDefinition, unit: !0)
!21 = !DILocation(line: 7, column: 10, scope: !20)
!22 = !DILocation(line: 8, column: 10, scope: !20)
!23 = !DILocation(line: 9, column: 1, scope: !20)

!30 = distinct !DISubprogram(name: "point_translate", scope: !1, file: !1, line: 12, type: !4, scopeLine: 12, flags: DIFlagPrototyped, spFlags: DISPFlagDefinition, unit: !0)
!31 = !DILocation(line: 13, column: 11, scope: !30)
!32 = !DILocation(line: 14, column: 11, scope: !30)
!33 = !DILocation(line: 15, column: 1, scope: !30)

!40 = distinct !DISubprogram(name: "point_manhattan", scope: !1, file: !1, line: 18, type: !4, scopeLine: 18, flags: DIFlagPrototyped, spFlags: DISPFlagDefinition, unit: !0)
!41 = !DILocation(line: 19, column: 3, scope: !40)
!42 = !DILocation(line: 20, column: 10, scope: !40)
!43 = !DILocation(line: 20, column: 22, scope: !40)
!44 = !DILocation(line: 20, column: 3, scope: !40)
