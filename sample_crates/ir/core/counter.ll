; core/counter.ll -- a single piece of mutable module-private state.
;
; @counter is `internal`: other modules only reach it through @counter_bump /
; @counter_get.  If those functions are imported elsewhere, @counter must be
; promoted (renamed + made hidden external), never duplicated, or the count
; printed by main would be wrong.

@counter = internal global i32 0

; counter += 1
define void @counter_bump() {
entry:
  %v = load i32, ptr @counter
  %n = add i32 %v, 1
  store i32 %n, ptr @counter
  ret void
}

; return counter
define i32 @counter_get() {
entry:
  %v = load i32, ptr @counter
  ret i32 %v
}
