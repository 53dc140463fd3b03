; app/pipeline.ll -- mid-size glue between main and the core leaves.
;
; Call chain exercised here: main -> @pipeline_run (this module)
;   -> @table_get (core/table.ll), @counter_bump (core/counter.ll),
;      @clamp (linkonce_odr, defined here AND in core/math.ll).
; @table_edges reads core's @lookup_table directly.

@lookup_table = external constant [8 x i32]

declare i32 @table_get(i32)
declare void @counter_bump()

; Identical copy of core/math.ll's @clamp.
define linkonce_odr i32 @clamp(i32 %v, i32 %lo, i32 %hi) #0 {
entry:
  %below = icmp slt i32 %v, %lo
  %t = select i1 %below, i32 %lo, i32 %v
  %above = icmp sgt i32 %t, %hi
  %r = select i1 %above, i32 %hi, i32 %t
  ret i32 %r
}

; Internal helper: odd values count twice, even values once.
define internal i32 @weight(i32 %v) {
entry:
  %odd = and i32 %v, 1
  %w = add i32 %odd, 1
  %r = mul i32 %v, %w
  ret i32 %r
}

; Sum weight(table_get(i)) for i in [0, n), bump the shared counter once,
; and clamp the result into [0, 100].
define i32 @pipeline_run(i32 %n) {
entry:
  %none = icmp sle i32 %n, 0
  br i1 %none, label %exit, label %loop

loop:
  %i = phi i32 [ 0, %entry ], [ %i.next, %loop ]
  %acc = phi i32 [ 0, %entry ], [ %acc.next, %loop ]
  %t = call i32 @table_get(i32 %i)
  %w = call i32 @weight(i32 %t)
  %acc.next = add i32 %acc, %w
  %i.next = add i32 %i, 1
  %more = icmp slt i32 %i.next, %n
  br i1 %more, label %loop, label %exit

exit:
  %sum = phi i32 [ 0, %entry ], [ %acc.next, %loop ]
  call void @counter_bump()
  %r = call i32 @clamp(i32 %sum, i32 0, i32 100)
  ret i32 %r
}

; lookup_table[0] + lookup_table[7], read straight from core's global.
define i32 @table_edges() {
entry:
  %first = load i32, ptr @lookup_table, align 4
  %lastp = getelementptr inbounds [8 x i32], ptr @lookup_table, i64 0, i64 7
  %last = load i32, ptr %lastp, align 4
  %s = add i32 %first, %last
  ret i32 %s
}

attributes #0 = { noinline nounwind }
