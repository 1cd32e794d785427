;; Every way out of a function gives its frame back to the stack budget:
;; "run" calls each kind of function n times in a loop; the budget must be
;; whole afterwards, and no call may trap.
(module
  (import "payhost" "yield" (func $yield (result i32)))
  (memory (export "memory") 1)
  (type $pair (func (result i32 i64)))
  ;; falls through its end with a result
  (func $fall (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  ;; returns early from inside nested blocks
  (func $ret (param i32) (result i32)
    (block (block (br_if 1 (i32.eqz (local.get 0))) (return (i32.const 7))))
    (i32.const 8))
  ;; branches to the function's own label (depth 2 from inside two blocks)
  (func $brout (param i32) (result i32)
    (block (block (drop (br_if 2 (i32.const 9) (local.get 0)))))
    (i32.const 10))
  ;; br_table whose default target is the function's label
  (func $table (param i32) (result i32)
    (block $a (result i32)
      (block $b (result i32) (br_table $a $b 2 (i32.const 11) (local.get 0)))
      (drop) (return (i32.const 12)))
    (drop) (i32.const 13))
  ;; several results, branched out of a loop to the function's label
  (func $multi (param i32) (result i32 i64)
    (loop $l (br_if 1 (i32.const 1) (i64.const 2) (local.get 0)) (local.set 0 (i32.const 1)) (br $l))
    (i32.const 3) (i64.const 4))
  ;; traps are the only exit that does not give back (the instance is discarded)
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (call $fall (local.get $i))))
      (local.set $acc (i32.add (local.get $acc) (call $ret (i32.and (local.get $i) (i32.const 1)))))
      (local.set $acc (i32.add (local.get $acc) (call $brout (i32.and (local.get $i) (i32.const 1)))))
      (local.set $acc (i32.add (local.get $acc) (call $table (i32.rem_u (local.get $i) (i32.const 3)))))
      (call $multi (i32.and (local.get $i) (i32.const 1)))
      (drop) (local.set $acc (i32.add (local.get $acc)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $acc))
  ;; an endless loop of tail calls, with no loop instruction: metered at entry
  (func $tail (param i32) (result i32) (return_call $tail (i32.add (local.get 0) (i32.const 1))))
  (func (export "tail") (result i32) (return_call $tail (i32.const 0)))
  ;; an endless recursion: the stack budget traps it
  (func $deep (export "deep") (param i32) (result i32) (i32.add (call $deep (local.get 0)) (i32.const 1)))
  ;; grows memory by one page: charged by the memory copied
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
)
