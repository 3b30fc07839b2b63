/*
 * The retpoline thunks the core calls for every indirect branch (-mindirect-branch=thunk-extern
 * -mindirect-branch-register), as Xen's arch/x86/indirect-thunk.S provides them: the call puts
 * a return address the CPU's return predictor will speculate into the pause/lfence loop, and the
 * real target replaces it on the stack before ret.
 */
.macro THUNK reg
  .section .text.__x86_indirect_thunk_\reg, "ax", @progbits
  .globl __x86_indirect_thunk_\reg
  .hidden __x86_indirect_thunk_\reg
  .type __x86_indirect_thunk_\reg, @function
__x86_indirect_thunk_\reg:
  call 2f
1:
  pause
  lfence
  jmp 1b
2:
  mov %\reg, (%rsp)
  ret
  .size __x86_indirect_thunk_\reg, . - __x86_indirect_thunk_\reg
.endm

.irp reg, rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15
THUNK \reg
.endr

.section .note.GNU-stack, "", @progbits
