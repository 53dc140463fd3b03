; core/stats.ll -- one deliberately large function.
;
;   @crunch     straight-line xorshift32 generator, 16 unrolled rounds
;               (~140 instructions: too big for ThinLTO's default import limit)
;   @fold_odd   internal helper used only by @crunch

; Multiply by an odd constant and add a tweak (a bijection on i32).
define internal i32 @fold_odd(i32 %acc, i32 %x) {
entry:
  %m = mul i32 %acc, 2654435761
  %r = add i32 %m, %x
  ret i32 %r
}

; Run 16 rounds of xorshift32 from %seed (0 is replaced by 1), folding every
; state into an accumulator.  Each round: x ^= x << 13; x ^= x >> 17;
; x ^= x << 5; then acc = fold(acc ^ (x >> round), x + round).
define i32 @crunch(i32 %seed) {
entry:
  %zero = icmp eq i32 %seed, 0
  %x0 = select i1 %zero, i32 1, i32 %seed
  %acc0 = add i32 %seed, 7
  ; round 1
  %s1.a = shl i32 %x0, 13
  %s1.b = xor i32 %x0, %s1.a
  %s1.c = lshr i32 %s1.b, 17
  %s1.d = xor i32 %s1.b, %s1.c
  %s1.e = shl i32 %s1.d, 5
  %x1 = xor i32 %s1.d, %s1.e
  %s1.sh = lshr i32 %x1, 1
  %s1.mix = xor i32 %acc0, %s1.sh
  %s1.tw = add i32 %x1, 1
  %acc1 = call i32 @fold_odd(i32 %s1.mix, i32 %s1.tw)
  ; round 2
  %s2.a = shl i32 %x1, 13
  %s2.b = xor i32 %x1, %s2.a
  %s2.c = lshr i32 %s2.b, 17
  %s2.d = xor i32 %s2.b, %s2.c
  %s2.e = shl i32 %s2.d, 5
  %x2 = xor i32 %s2.d, %s2.e
  %s2.sh = lshr i32 %x2, 2
  %s2.mix = xor i32 %acc1, %s2.sh
  %s2.tw = add i32 %x2, 2
  %acc2 = call i32 @fold_odd(i32 %s2.mix, i32 %s2.tw)
  ; round 3
  %s3.a = shl i32 %x2, 13
  %s3.b = xor i32 %x2, %s3.a
  %s3.c = lshr i32 %s3.b, 17
  %s3.d = xor i32 %s3.b, %s3.c
  %s3.e = shl i32 %s3.d, 5
  %x3 = xor i32 %s3.d, %s3.e
  %s3.sh = lshr i32 %x3, 3
  %s3.mix = xor i32 %acc2, %s3.sh
  %s3.tw = add i32 %x3, 3
  %acc3 = call i32 @fold_odd(i32 %s3.mix, i32 %s3.tw)
  ; round 4
  %s4.a = shl i32 %x3, 13
  %s4.b = xor i32 %x3, %s4.a
  %s4.c = lshr i32 %s4.b, 17
  %s4.d = xor i32 %s4.b, %s4.c
  %s4.e = shl i32 %s4.d, 5
  %x4 = xor i32 %s4.d, %s4.e
  %s4.sh = lshr i32 %x4, 4
  %s4.mix = xor i32 %acc3, %s4.sh
  %s4.tw = add i32 %x4, 4
  %acc4 = call i32 @fold_odd(i32 %s4.mix, i32 %s4.tw)
  ; round 5
  %s5.a = shl i32 %x4, 13
  %s5.b = xor i32 %x4, %s5.a
  %s5.c = lshr i32 %s5.b, 17
  %s5.d = xor i32 %s5.b, %s5.c
  %s5.e = shl i32 %s5.d, 5
  %x5 = xor i32 %s5.d, %s5.e
  %s5.sh = lshr i32 %x5, 5
  %s5.mix = xor i32 %acc4, %s5.sh
  %s5.tw = add i32 %x5, 5
  %acc5 = call i32 @fold_odd(i32 %s5.mix, i32 %s5.tw)
  ; round 6
  %s6.a = shl i32 %x5, 13
  %s6.b = xor i32 %x5, %s6.a
  %s6.c = lshr i32 %s6.b, 17
  %s6.d = xor i32 %s6.b, %s6.c
  %s6.e = shl i32 %s6.d, 5
  %x6 = xor i32 %s6.d, %s6.e
  %s6.sh = lshr i32 %x6, 6
  %s6.mix = xor i32 %acc5, %s6.sh
  %s6.tw = add i32 %x6, 6
  %acc6 = call i32 @fold_odd(i32 %s6.mix, i32 %s6.tw)
  ; round 7
  %s7.a = shl i32 %x6, 13
  %s7.b = xor i32 %x6, %s7.a
  %s7.c = lshr i32 %s7.b, 17
  %s7.d = xor i32 %s7.b, %s7.c
  %s7.e = shl i32 %s7.d, 5
  %x7 = xor i32 %s7.d, %s7.e
  %s7.sh = lshr i32 %x7, 7
  %s7.mix = xor i32 %acc6, %s7.sh
  %s7.tw = add i32 %x7, 7
  %acc7 = call i32 @fold_odd(i32 %s7.mix, i32 %s7.tw)
  ; round 8
  %s8.a = shl i32 %x7, 13
  %s8.b = xor i32 %x7, %s8.a
  %s8.c = lshr i32 %s8.b, 17
  %s8.d = xor i32 %s8.b, %s8.c
  %s8.e = shl i32 %s8.d, 5
  %x8 = xor i32 %s8.d, %s8.e
  %s8.sh = lshr i32 %x8, 8
  %s8.mix = xor i32 %acc7, %s8.sh
  %s8.tw = add i32 %x8, 8
  %acc8 = call i32 @fold_odd(i32 %s8.mix, i32 %s8.tw)
  ; round 9
  %s9.a = shl i32 %x8, 13
  %s9.b = xor i32 %x8, %s9.a
  %s9.c = lshr i32 %s9.b, 17
  %s9.d = xor i32 %s9.b, %s9.c
  %s9.e = shl i32 %s9.d, 5
  %x9 = xor i32 %s9.d, %s9.e
  %s9.sh = lshr i32 %x9, 9
  %s9.mix = xor i32 %acc8, %s9.sh
  %s9.tw = add i32 %x9, 9
  %acc9 = call i32 @fold_odd(i32 %s9.mix, i32 %s9.tw)
  ; round 10
  %s10.a = shl i32 %x9, 13
  %s10.b = xor i32 %x9, %s10.a
  %s10.c = lshr i32 %s10.b, 17
  %s10.d = xor i32 %s10.b, %s10.c
  %s10.e = shl i32 %s10.d, 5
  %x10 = xor i32 %s10.d, %s10.e
  %s10.sh = lshr i32 %x10, 10
  %s10.mix = xor i32 %acc9, %s10.sh
  %s10.tw = add i32 %x10, 10
  %acc10 = call i32 @fold_odd(i32 %s10.mix, i32 %s10.tw)
  ; round 11
  %s11.a = shl i32 %x10, 13
  %s11.b = xor i32 %x10, %s11.a
  %s11.c = lshr i32 %s11.b, 17
  %s11.d = xor i32 %s11.b, %s11.c
  %s11.e = shl i32 %s11.d, 5
  %x11 = xor i32 %s11.d, %s11.e
  %s11.sh = lshr i32 %x11, 11
  %s11.mix = xor i32 %acc10, %s11.sh
  %s11.tw = add i32 %x11, 11
  %acc11 = call i32 @fold_odd(i32 %s11.mix, i32 %s11.tw)
  ; round 12
  %s12.a = shl i32 %x11, 13
  %s12.b = xor i32 %x11, %s12.a
  %s12.c = lshr i32 %s12.b, 17
  %s12.d = xor i32 %s12.b, %s12.c
  %s12.e = shl i32 %s12.d, 5
  %x12 = xor i32 %s12.d, %s12.e
  %s12.sh = lshr i32 %x12, 12
  %s12.mix = xor i32 %acc11, %s12.sh
  %s12.tw = add i32 %x12, 12
  %acc12 = call i32 @fold_odd(i32 %s12.mix, i32 %s12.tw)
  ; round 13
  %s13.a = shl i32 %x12, 13
  %s13.b = xor i32 %x12, %s13.a
  %s13.c = lshr i32 %s13.b, 17
  %s13.d = xor i32 %s13.b, %s13.c
  %s13.e = shl i32 %s13.d, 5
  %x13 = xor i32 %s13.d, %s13.e
  %s13.sh = lshr i32 %x13, 13
  %s13.mix = xor i32 %acc12, %s13.sh
  %s13.tw = add i32 %x13, 13
  %acc13 = call i32 @fold_odd(i32 %s13.mix, i32 %s13.tw)
  ; round 14
  %s14.a = shl i32 %x13, 13
  %s14.b = xor i32 %x13, %s14.a
  %s14.c = lshr i32 %s14.b, 17
  %s14.d = xor i32 %s14.b, %s14.c
  %s14.e = shl i32 %s14.d, 5
  %x14 = xor i32 %s14.d, %s14.e
  %s14.sh = lshr i32 %x14, 14
  %s14.mix = xor i32 %acc13, %s14.sh
  %s14.tw = add i32 %x14, 14
  %acc14 = call i32 @fold_odd(i32 %s14.mix, i32 %s14.tw)
  ; round 15
  %s15.a = shl i32 %x14, 13
  %s15.b = xor i32 %x14, %s15.a
  %s15.c = lshr i32 %s15.b, 17
  %s15.d = xor i32 %s15.b, %s15.c
  %s15.e = shl i32 %s15.d, 5
  %x15 = xor i32 %s15.d, %s15.e
  %s15.sh = lshr i32 %x15, 15
  %s15.mix = xor i32 %acc14, %s15.sh
  %s15.tw = add i32 %x15, 15
  %acc15 = call i32 @fold_odd(i32 %s15.mix, i32 %s15.tw)
  ; round 16
  %s16.a = shl i32 %x15, 13
  %s16.b = xor i32 %x15, %s16.a
  %s16.c = lshr i32 %s16.b, 17
  %s16.d = xor i32 %s16.b, %s16.c
  %s16.e = shl i32 %s16.d, 5
  %x16 = xor i32 %s16.d, %s16.e
  %s16.sh = lshr i32 %x16, 16
  %s16.mix = xor i32 %acc15, %s16.sh
  %s16.tw = add i32 %x16, 16
  %acc16 = call i32 @fold_odd(i32 %s16.mix, i32 %s16.tw)
  ; final avalanche
  %f.a = lshr i32 %acc16, 16
  %f.b = xor i32 %acc16, %f.a
  %f.c = mul i32 %f.b, 2246822507
  %f.d = lshr i32 %f.c, 13
  %f.e = xor i32 %f.c, %f.d
  ret i32 %f.e
}
