; core/math.ll -- small arithmetic leaves.
;
;   @clamp           linkonce_odr; an identical copy lives in app/pipeline.ll
;   @square          internal helper, only called from this module
;   @sum_of_squares  small exported function that calls the internal @square
;                    (importing it elsewhere requires promoting @square)
;   @saturate_add    small exported function that calls @clamp
;   @mix_hash        small but `noinline`: must stay out-of-line (not imported)

; Clamp %v into [%lo, %hi].  Defined identically in app/pipeline.ll; kept
; out of line (#0) so that both copies survive to the thin link, which picks
; one prevailing copy.
define linkonce_odr i32 @clamp(i32 %v, i32 %lo, i32 %hi) #0 {
entry:
  %below = icmp slt i32 %v, %lo
  %t = select i1 %below, i32 %lo, i32 %v
  %above = icmp sgt i32 %t, %hi
  %r = select i1 %above, i32 %hi, i32 %t
  ret i32 %r
}

; Private helper.
define internal i32 @square(i32 %x) {
entry:
  %r = mul i32 %x, %x
  ret i32 %r
}

; a*a + b*b, through the private helper.
define i32 @sum_of_squares(i32 %a, i32 %b) {
entry:
  %sa = call i32 @square(i32 %a)
  %sb = call i32 @square(i32 %b)
  %s = add i32 %sa, %sb
  ret i32 %s
}

; a + b, saturated to [0, 10].
define i32 @saturate_add(i32 %a, i32 %b) {
entry:
  %s = add i32 %a, %b
  %r = call i32 @clamp(i32 %s, i32 0, i32 10)
  ret i32 %r
}

; One FNV-1a style step.  Tiny, but never inlined.
define i32 @mix_hash(i32 %h, i32 %v) #0 {
entry:
  %x = xor i32 %h, %v
  %m = mul i32 %x, 16777619
  ret i32 %m
}

attributes #0 = { noinline nounwind }
