/* Depthwise convolution (groups == c_in == c_out, NCHW) on the board's fast kernels, and the
 * overwrite-safe convolutions (mf_conv2d_overwrite_*, mf_conv.h) that call it.
 *
 * One driver (runtime_c/src/depthwise_drive.inc) walks channels and output rows; each ISA file
 * supplies one output-row kernel. Per output row the driver resolves which kernel rows land in
 * the input (the top/bottom padding) and per call the kernel knows which output columns see
 * the whole window (the interior); so the hot loop carries no per-pixel bounds test:
 *  - dsp (Cortex-M4/M7, scalar FP32): 3x3 windows at stride 1 or 2 slide along the row with
 *    the 9 weights and the window's columns in registers (3 or 6 loads per 9 FMAs); the border
 *    columns take a clipped window; other shapes a generic loop over the window;
 *  - rvv / mve: vector across output columns, one vector load (strided for stride > 1:
 *    vlse / gather) and one vfmacc per tap; a tap that hangs over the left or right padding
 *    for some columns of the chunk loads under a predicate (RVV mask / MVE VPR), so the border
 *    columns need no scalar code; 3x3 at stride 2 (pads <= 1) has its own kernels
 *    (depthwise_s2_rvv.inc, depthwise_s2_mve.inc: the 9 taps unrolled, strided loads /
 *    gathers of the even and odd columns, many planes per call).
 *
 * y may be x (the planner's "overwrite" alias) when scratch holds
 * mf_conv2d_overwrite_scratch_bytes(d, elem) bytes:
 *  - same-size planes at stride 1: output row r is written over input row r, so the driver
 *    first saves input row r into a ring of pad_top + 1 rows in scratch, and the kernel rows
 *    at or above r read the ring: one row copy per output row, no plane copy;
 *  - a plane no more than nc/(nc+1) of the input plane (stride 2: every channel but the first)
 *    lands only on consumed channels: written directly (on RVV and Helium, planes 1.. of a
 *    stride-2 3x3 layer in one multi-plane call);
 *  - anything else (the first channel at stride 2): computed into scratch, then copied.
 * With y distinct from x (and no overlap) scratch is not used and may be NULL. */
#ifndef MF_DEPTHWISE_H
#define MF_DEPTHWISE_H

#include "mf_conv.h"
#include "mf_types.h"

/* The widest window the vector row kernels take (k_w); wider ones use the reference. */
#define MF_DW_MAX_KW 16

/* mf_depthwise_<dtype>_<isa> and the overwrite-safe convs that call them are declared in
 * mf_conv.h (from the kernel table). */

#endif
