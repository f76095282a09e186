/* The word the start-up code fills the stack with before any C code runs; mf_stack_used()
 * finds the deepest word overwritten since. Plain number: included from assembly too. */
#ifndef MF_STACK_PAINT_H
#define MF_STACK_PAINT_H

#define MF_STACK_PAINT_WORD 0xC5AC5AC5

#endif /* MF_STACK_PAINT_H */
