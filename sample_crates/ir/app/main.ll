; app/main.ll -- the program entry point.  Calls into every other module and
; prints a short, deterministic report.

%Point = type { i32, i32 }

@.str.sum = private unnamed_addr constant [4 x i8] c"sum\00"
@.str.pipeline = private unnamed_addr constant [9 x i8] c"pipeline\00"
@.str.edges = private unnamed_addr constant [6 x i8] c"edges\00"
@.str.point = private unnamed_addr constant [6 x i8] c"point\00"
@.str.manhattan = private unnamed_addr constant [10 x i8] c"manhattan\00"
@.str.clamp = private unnamed_addr constant [6 x i8] c"clamp\00"
@.str.counter = private unnamed_addr constant [8 x i8] c"counter\00"
@.fmt.table = private unnamed_addr constant [16 x i8] c"table[%d] = %d\0A\00"
@.fmt.hex = private unnamed_addr constant [13 x i8] c"%s = 0x%08x\0A\00"
@.str.mix = private unnamed_addr constant [4 x i8] c"mix\00"
@.str.checksum = private unnamed_addr constant [9 x i8] c"checksum\00"
@.str.crunch = private unnamed_addr constant [7 x i8] c"crunch\00"

declare i32 @printf(ptr noundef, ...)

; core/math.ll
declare i32 @sum_of_squares(i32, i32)
declare i32 @saturate_add(i32, i32)
declare i32 @mix_hash(i32, i32)
; core/counter.ll
declare void @counter_bump()
declare i32 @counter_get()
; core/table.ll
declare i32 @table_get(i32)
declare i32 @table_checksum(i32, i32)
; core/report.ll
declare void @report_int(ptr, i32)
declare void @report_point(ptr, ptr)
; core/stats.ll
declare i32 @crunch(i32)
; app/pipeline.ll
declare i32 @pipeline_run(i32)
declare i32 @table_edges()
; app/shapes.ll
declare i32 @shapes_demo(ptr)

; Internal helper: printf("%s = 0x%08x\n", label, v)
define internal void @print_hex(ptr %label, i32 %v) {
entry:
  %n = call i32 (ptr, ...) @printf(ptr @.fmt.hex, ptr %label, i32 %v)
  ret void
}

define i32 @main() {
entry:
  %p = alloca %Point, align 4

  ; sum = 3*3 + 4*4
  %sum = call i32 @sum_of_squares(i32 3, i32 4)
  call void @report_int(ptr @.str.sum, i32 %sum)

  ; pipeline = clamp(2 + 2*3 + 2*5 + 2*7 + 2*11, 0, 100)   (bumps counter)
  %pl = call i32 @pipeline_run(i32 5)
  call void @report_int(ptr @.str.pipeline, i32 %pl)

  ; table[3], and table[0] + table[7]
  %t3 = call i32 @table_get(i32 3)
  %pr = call i32 (ptr, ...) @printf(ptr @.fmt.table, i32 3, i32 %t3)
  %edges = call i32 @table_edges()
  call void @report_int(ptr @.str.edges, i32 %edges)

  ; point = (3, 4), manhattan = 7   (bumps counter)
  %md = call i32 @shapes_demo(ptr %p)
  call void @report_point(ptr @.str.point, ptr %p)
  call void @report_int(ptr @.str.manhattan, i32 %md)

  ; clamp = min(7 + 5, 10)
  %cl = call i32 @saturate_add(i32 7, i32 5)
  call void @report_int(ptr @.str.clamp, i32 %cl)

  ; two more bumps from here: 1 (pipeline) + 1 (shapes) + 2 (main) = 4
  call void @counter_bump()
  call void @counter_bump()
  %cnt = call i32 @counter_get()
  call void @report_int(ptr @.str.counter, i32 %cnt)

  ; hashes
  %h1 = call i32 @mix_hash(i32 -2128831035, i32 %sum)
  %h2 = call i32 @mix_hash(i32 %h1, i32 %pl)
  call void @print_hex(ptr @.str.mix, i32 %h2)
  %ck = call i32 @table_checksum(i32 4, i32 8)
  call void @print_hex(ptr @.str.checksum, i32 %ck)
  %cr = call i32 @crunch(i32 12345)
  call void @print_hex(ptr @.str.crunch, i32 %cr)

  ret i32 0
}
