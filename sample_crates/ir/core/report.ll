; core/report.ll -- printf-based reporting.  Each function is small and
; formats through a module-private string constant, so importing one of them
; into another module requires promoting (or copying) the format string.

%Point = type { i32, i32 }

@.fmt.int = private unnamed_addr constant [9 x i8] c"%s = %d\0A\00"
@.fmt.point = private unnamed_addr constant [15 x i8] c"%s = (%d, %d)\0A\00"

declare i32 @printf(ptr noundef, ...)

; printf("%s = %d\n", label, v)
define void @report_int(ptr %label, i32 %v) {
entry:
  %n = call i32 (ptr, ...) @printf(ptr @.fmt.int, ptr %label, i32 %v)
  ret void
}

; printf("%s = (%d, %d)\n", label, p->x, p->y)
define void @report_point(ptr %label, ptr %p) {
entry:
  %px = getelementptr inbounds %Point, ptr %p, i32 0, i32 0
  %x = load i32, ptr %px, align 4
  %py = getelementptr inbounds %Point, ptr %p, i32 0, i32 1
  %y = load i32, ptr %py, align 4
  %n = call i32 (ptr, ...) @printf(ptr @.fmt.point, ptr %label, i32 %x, i32 %y)
  ret void
}
