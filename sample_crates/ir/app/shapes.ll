; app/shapes.ll -- builds a %Point through core/geom.ll (the debug-info module).
;
; Chain: main -> @shapes_demo (this module) -> @point_init / @point_translate /
; @point_manhattan (core/geom.ll) and @counter_bump (core/counter.ll).

%Point = type { i32, i32 }

declare void @point_init(ptr, i32, i32)
declare void @point_translate(ptr, i32, i32)
declare i32 @point_manhattan(ptr)
declare void @counter_bump()

; Internal helper: offset used for the translation step.
define internal i32 @offset(i32 %k) {
entry:
  %r = add i32 %k, 1
  ret i32 %r
}

; *out = (1, 1) moved by (2, 3)  ==> (3, 4); returns |3| + |4| = 7.
define i32 @shapes_demo(ptr %out) {
entry:
  %tmp = alloca %Point, align 4
  call void @point_init(ptr %tmp, i32 1, i32 1)
  %dx = call i32 @offset(i32 1)
  %dy = call i32 @offset(i32 2)
  call void @point_translate(ptr %tmp, i32 %dx, i32 %dy)
  ; copy the point out field by field
  %sx = getelementptr inbounds %Point, ptr %tmp, i32 0, i32 0
  %x = load i32, ptr %sx, align 4
  %sy = getelementptr inbounds %Point, ptr %tmp, i32 0, i32 1
  %y = load i32, ptr %sy, align 4
  %ox = getelementptr inbounds %Point, ptr %out, i32 0, i32 0
  store i32 %x, ptr %ox, align 4
  %oy = getelementptr inbounds %Point, ptr %out, i32 0, i32 1
  store i32 %y, ptr %oy, align 4
  call void @counter_bump()
  %d = call i32 @point_manhattan(ptr %out)
  ret i32 %d
}
