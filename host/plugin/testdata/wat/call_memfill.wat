;; A memory bomb: grows memory as far as the limit allows, then fills all
;; of it, again and again. Each memory.fill is one instruction of up to
;; 128 MiB, charged by its length.
(module
  (import "payhost" "yield" (func $yield (result i32)))
  (import "payhost" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"name\":\"wathostile\",\"version\":\"0.0.1\",\"abi_version\":1,\"operations\":[\"payment.create\",\"notification.parse\"],\"methods\":[\"alipay.qr\"],\"currencies\":[\"CNY\"]}")
  (func (export "_initialize") )
  (func (export "payhost_abi_version") (result i32) (i32.const 1))
  (func (export "payhost_alloc") (param i32) (result i32) (i32.const 4096))
  (func (export "payhost_describe") (result i32) (call $output (i32.const 0) (i32.const 153)) (i32.const 0))
  (func (export "payhost_call") (param i32 i32) (result i32)
    (local $pages i32)
    (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    (local.set $pages (memory.size))
    (loop $fill
      (memory.fill (i32.const 0) (i32.const 0xAB) (i32.mul (local.get $pages) (i32.const 65536)))
      (br $fill))
    (i32.const 0))
)
