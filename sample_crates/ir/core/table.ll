; core/table.ll -- a constant lookup table and functions over it.
;
;   @lookup_table    external constant array, also read directly by app/pipeline.ll
;   @table_get       small leaf (good import candidate)
;   @rotl            internal helper
;   @table_checksum  medium function with nested loops (52 instructions;
;                    about 50 after O2, the inner loop has a runtime trip count)

@lookup_table = constant [8 x i32] [i32 2, i32 3, i32 5, i32 7, i32 11, i32 13, i32 17, i32 19]

; lookup_table[i & 7]
define i32 @table_get(i32 %i) {
entry:
  %masked = and i32 %i, 7
  %idx = zext i32 %masked to i64
  %slot = getelementptr inbounds [8 x i32], ptr @lookup_table, i64 0, i64 %idx
  %v = load i32, ptr %slot
  ret i32 %v
}

; Rotate left by (k & 31).
define internal i32 @rotl(i32 %x, i32 %k) {
entry:
  %k.m = and i32 %k, 31
  %lo = shl i32 %x, %k.m
  %rk = sub i32 32, %k.m
  %rk.m = and i32 %rk, 31
  %hi = lshr i32 %x, %rk.m
  %r = or i32 %lo, %hi
  ret i32 %r
}

; Adler-32 style checksum over the first %items entries of the table (%items
; is wrapped into 1..8), repeated %rounds times (each round offsets every
; entry by the round number), folded through a rotate-xor hash.
; Also tracks the largest (entry + round) value seen, and finishes with a
; murmur3-style avalanche.
define i32 @table_checksum(i32 %rounds, i32 %items) {
entry:
  ; n = ((items - 1) & 7) + 1
  %items.m1 = sub i32 %items, 1
  %items.w = and i32 %items.m1, 7
  %n32 = add i32 %items.w, 1
  %n = zext i32 %n32 to i64
  %none = icmp sle i32 %rounds, 0
  br i1 %none, label %empty, label %outer

outer:
  %r = phi i32 [ 0, %entry ], [ %r.next, %latch ]
  %a.o = phi i32 [ 1, %entry ], [ %a.next, %latch ]
  %b.o = phi i32 [ 0, %entry ], [ %b.next, %latch ]
  %h.o = phi i32 [ 5381, %entry ], [ %h.next, %latch ]
  %max.o = phi i32 [ 0, %entry ], [ %max.next, %latch ]
  br label %inner

inner:
  %i = phi i64 [ 0, %outer ], [ %i.next, %inner ]
  %a = phi i32 [ %a.o, %outer ], [ %a.next, %inner ]
  %b = phi i32 [ %b.o, %outer ], [ %b.next, %inner ]
  %max = phi i32 [ %max.o, %outer ], [ %max.next, %inner ]
  %slot = getelementptr inbounds [8 x i32], ptr @lookup_table, i64 0, i64 %i
  %v = load i32, ptr %slot
  %vr = add i32 %v, %r
  ; Adler sums
  %a.sum = add i32 %a, %vr
  %a.next = urem i32 %a.sum, 65521
  %b.sum = add i32 %b, %a.next
  %b.next = urem i32 %b.sum, 65521
  ; running maximum
  %bigger = icmp ugt i32 %vr, %max
  %max.next = select i1 %bigger, i32 %vr, i32 %max
  %i.next = add i64 %i, 1
  %more = icmp ult i64 %i.next, %n
  br i1 %more, label %inner, label %latch

latch:
  ; h = rotl(h, r + 3) ^ ((b << 16) | a)
  %amt = add i32 %r, 3
  %h.rot = call i32 @rotl(i32 %h.o, i32 %amt)
  %b.hi = shl i32 %b.next, 16
  %ab = or i32 %b.hi, %a.next
  %h.x = xor i32 %h.rot, %ab
  %h.m = mul i32 %h.x, 33
  %h.next = add i32 %h.m, %r
  %r.next = add i32 %r, 1
  %again = icmp slt i32 %r.next, %rounds
  br i1 %again, label %outer, label %finish

finish:
  ; fold in the maximum, then a murmur3-style finalizer
  %max.rot = call i32 @rotl(i32 %max.next, i32 7)
  %f0 = xor i32 %h.next, %max.rot
  %f1.s = lshr i32 %f0, 16
  %f1 = xor i32 %f0, %f1.s
  %f2 = mul i32 %f1, 2246822507
  %f3.s = lshr i32 %f2, 13
  %f3 = xor i32 %f2, %f3.s
  %f4 = mul i32 %f3, 3266489909
  %f5.s = lshr i32 %f4, 16
  %res = xor i32 %f4, %f5.s
  br label %exit

empty:
  br label %exit

exit:
  %out = phi i32 [ %res, %finish ], [ 0, %empty ]
  ret i32 %out
}
