/* mcuforge instruction counter: a QEMU TCG plugin.
 *
 * Counts guest instructions executed from the first instruction of the start marker
 * (mf_bench_start) up to, not including, the first instruction of the stop marker
 * (mf_bench_stop), summed over every start/stop pair. The count depends only on the executed
 * instruction stream, so it is identical run after run (unlike wall time).
 *
 * Arguments (-plugin libmf_icount.so,start=0x..,stop=0x..,out=/path[,lmul=on]):
 *   start, stop  marker addresses (Thumb: bit 0 already cleared by the caller)
 *   out          file the result is written to at exit ("key=value" lines); without it the
 *                result goes to QEMU's log (-d plugin)
 *   lmul=on      RISC-V only: also report an LMUL-weighted count in which each vector
 *                instruction counts LMUL times (fractional LMUL counts once), since a
 *                vector instruction at LMUL=m does the work of m LMUL=1 instructions.
 *   node=0x..    optional per-node profile: address of the node marker (mf_profile_node,
 *                called before each node of the model). Every time it is entered inside
 *                the window, the running counts are recorded as a checkpoint; node k's cost
 *                is checkpoint k+1 minus checkpoint k (the last one ends at the stop marker).
 *                The v1 API reads no registers or memory, so the node index is the order of
 *                the calls, which the generated code makes the order of the nodes.
 *   node_end=0x.. end of the node marker's code: instructions executed in
 *                [node, node_end) are counted apart (marker_insns=) so the caller can take
 *                the marker's own cost out of each node.
 *
 *   harts=N      cluster mode (several vCPUs): counts per vCPU, with these as well:
 *   wait=LO-HI   code range [LO, HI) of the waiting/synchronising code (mf_cluster_riscv.c's
 *                .text.mf_wait): its instructions are counted apart ("sync"), never as work
 *   region=A,region_end=B  entries of mf_cluster_region_begin / _end, which hart 0 calls
 *                around each fork/join region. The span is, summed over regions, the largest
 *                per-vCPU work count in the region, plus hart 0's work outside regions.
 *                Per-vCPU work, sync and LMUL extra are written as "hart k ..." lines.
 *   In cluster mode every block gets a callback (not an inline add: the v1 API's inline
 *   counter is one shared word), the window is opened and closed by hart 0's markers, and
 *   a snapshot of another vCPU's work is exact because at those points that vCPU executes
 *   only waiting code (it is parked in wfi or spinning in .text.mf_wait).
 *
 * How: every translated block gets an inline "add n_insns" to a running total (cheap: no
 * call per block). The two marker instructions get a callback that snapshots the running
 * total, corrected for the instructions of their block that follow them (the inline add
 * already counted the whole block when it started). A block left early by an exception
 * would be over-counted; the harness takes no exceptions between the markers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_qemu_plugin_api.h"

MF_QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

static uint64_t g_start_addr = UINT64_MAX;
static uint64_t g_stop_addr = UINT64_MAX;
static char *g_out_path;
static bool g_lmul_weighting;

static uint64_t g_total;          /* all instructions executed (inline add per block) */
static uint64_t g_window_begin;   /* g_total at the last start marker */
static bool g_counting;
static uint64_t g_count;          /* instructions between markers, all pairs */
static uint64_t g_pairs;
static uint64_t g_unmatched_stops; /* stop without a start: reported so Python can refuse */

/* RVV state: LMUL of the vtype last set by vset{i}vl{i}, as a weight (fractional -> 1). */
static uint64_t g_lmul_weight = 1;
static uint64_t g_vector_extra;   /* sum over vector insns in the window of (weight - 1) */
static uint64_t g_vsetvl_unknown; /* vsetvl (register vtype) executed: LMUL not visible */

/* Per-node profile (node=): checkpoints of (instructions so far in the window, vector extra). */
static uint64_t g_node_addr = UINT64_MAX;
static uint64_t g_node_end = 0;
static uint64_t g_marker_insns;   /* executed inside [node, node_end) within the window */
static uint64_t *g_checkpoints;   /* pairs: count, vector extra */
static size_t g_n_checkpoints;
static size_t g_cap_checkpoints;
static bool g_checkpoints_lost;   /* out of memory: reported so Python refuses the profile */

/* ---- cluster mode (harts=) ----------------------------------------------------------------- */
#define MF_MAX_VCPUS 64u

static unsigned g_harts;          /* 0: single-core mode above */
static uint64_t g_wait_lo = UINT64_MAX, g_wait_hi;
static uint64_t g_region_addr = UINT64_MAX, g_region_end_addr = UINT64_MAX;
static uint64_t g_work[MF_MAX_VCPUS];   /* work instructions per vCPU since boot */
static uint64_t g_sync[MF_MAX_VCPUS];   /* instructions in [wait_lo, wait_hi) per vCPU */
static uint64_t g_vextra[MF_MAX_VCPUS]; /* LMUL extra of work vector instructions per vCPU */
static uint64_t g_vweight[MF_MAX_VCPUS];
static uint64_t g_win_work[MF_MAX_VCPUS], g_win_sync[MF_MAX_VCPUS], g_win_vextra[MF_MAX_VCPUS];
static uint64_t g_reg_work[MF_MAX_VCPUS], g_reg_vextra[MF_MAX_VCPUS];
static uint64_t g_out_work[MF_MAX_VCPUS], g_out_sync[MF_MAX_VCPUS], g_out_vextra[MF_MAX_VCPUS];
static uint64_t g_span_regions, g_wspan_regions;   /* sum over regions of the largest share */
static uint64_t g_hart0_regions, g_whart0_regions; /* hart 0's work inside regions */
static uint64_t g_regions;
static bool g_in_region;
static uint64_t g_region_errors;  /* region markers out of order or outside the window */

/* Block callback udata: work instructions in the low 32 bits, waiting ones in the high. */
static void on_tb_cluster(unsigned int vcpu_index, void *udata)
{
    uint64_t packed = (uint64_t)(uintptr_t)udata;
    unsigned v = vcpu_index < MF_MAX_VCPUS ? vcpu_index : MF_MAX_VCPUS - 1u;
    g_work[v] += packed & 0xFFFFFFFFu;
    g_sync[v] += packed >> 32;
}

/* vCPU v's work so far; for the vCPU executing a marker, less the rest of its block. */
static void snapshot(unsigned vcpu, uint64_t remaining, uint64_t *work, uint64_t *vextra)
{
    for (unsigned v = 0; v < g_harts; v++) {
        work[v] = g_work[v] - (v == vcpu ? remaining : 0u);
        vextra[v] = g_vextra[v];
    }
}

static void on_cluster_start(unsigned int vcpu_index, void *udata)
{
    snapshot(vcpu_index, (uint64_t)(uintptr_t)udata, g_win_work, g_win_vextra);
    for (unsigned v = 0; v < g_harts; v++) {
        g_win_sync[v] = g_sync[v];
    }
    g_counting = true;
}

static void on_cluster_stop(unsigned int vcpu_index, void *udata)
{
    if (!g_counting) {
        g_unmatched_stops++;
        return;
    }
    uint64_t work[MF_MAX_VCPUS], vextra[MF_MAX_VCPUS];
    snapshot(vcpu_index, (uint64_t)(uintptr_t)udata, work, vextra);
    for (unsigned v = 0; v < g_harts; v++) {
        g_out_work[v] += work[v] - g_win_work[v];
        g_out_vextra[v] += vextra[v] - g_win_vextra[v];
        g_out_sync[v] += g_sync[v] - g_win_sync[v];
    }
    g_pairs++;
    g_counting = false;
    if (g_in_region) {
        g_region_errors++;
    }
}

static void on_region_begin(unsigned int vcpu_index, void *udata)
{
    if (!g_counting || g_in_region) {
        g_region_errors += g_counting ? 1u : 0u;
        return;
    }
    snapshot(vcpu_index, (uint64_t)(uintptr_t)udata, g_reg_work, g_reg_vextra);
    g_in_region = true;
}

static void on_region_end(unsigned int vcpu_index, void *udata)
{
    if (!g_counting || !g_in_region) {
        g_region_errors += g_counting ? 1u : 0u;
        return;
    }
    uint64_t work[MF_MAX_VCPUS], vextra[MF_MAX_VCPUS];
    snapshot(vcpu_index, (uint64_t)(uintptr_t)udata, work, vextra);
    uint64_t top = 0, wtop = 0;
    for (unsigned v = 0; v < g_harts; v++) {
        uint64_t d = work[v] - g_reg_work[v];
        uint64_t wd = d + (vextra[v] - g_reg_vextra[v]);
        top = d > top ? d : top;
        wtop = wd > wtop ? wd : wtop;
        if (v == 0) {
            g_hart0_regions += d;
            g_whart0_regions += wd;
        }
    }
    g_span_regions += top;
    g_wspan_regions += wtop;
    g_regions++;
    g_in_region = false;
}

/* Per-node profile in cluster mode: at each node marker (hart 0, between regions) the span
 * so far, i.e. hart 0's work outside regions plus each finished region's largest share, and
 * its LMUL-weighted twin; node k's span is checkpoint k+1 minus checkpoint k. */
static void record_checkpoint(uint64_t count, uint64_t vextra);

static void on_node_cluster(unsigned int vcpu_index, void *udata)
{
    if (!g_counting || g_in_region || vcpu_index != 0) {
        return;
    }
    uint64_t work[MF_MAX_VCPUS], vextra[MF_MAX_VCPUS];
    snapshot(vcpu_index, (uint64_t)(uintptr_t)udata, work, vextra);
    uint64_t h0 = g_out_work[0] + work[0] - g_win_work[0];
    uint64_t wh0 = h0 + g_out_vextra[0] + vextra[0] - g_win_vextra[0];
    uint64_t span = h0 - g_hart0_regions + g_span_regions;
    uint64_t wspan = wh0 - g_whart0_regions + g_wspan_regions;
    record_checkpoint(span, wspan - span);
}

static void on_vset_cluster(unsigned int vcpu_index, void *udata)
{
    uint32_t vtype = (uint32_t)(uintptr_t)udata;
    unsigned v = vcpu_index < MF_MAX_VCPUS ? vcpu_index : MF_MAX_VCPUS - 1u;
    if (vtype == UINT32_MAX) {
        g_vsetvl_unknown++;
        return;
    }
    uint32_t vlmul = vtype & 0x7u;
    g_vweight[v] = (vlmul <= 3u) ? (1u << vlmul) : 1u;
}

static void on_vector_insn_cluster(unsigned int vcpu_index, void *udata)
{
    (void)udata;
    unsigned v = vcpu_index < MF_MAX_VCPUS ? vcpu_index : MF_MAX_VCPUS - 1u;
    g_vextra[v] += (g_vweight[v] ? g_vweight[v] : 1u) - 1u;
}

/* Instructions of the block from the marker to the block's end, inclusive: subtracting it
 * from g_total gives the count executed before the marker instruction. */
static uint64_t total_before(void *udata)
{
    return g_total - (uint64_t)(uintptr_t)udata;
}

static void on_start(unsigned int vcpu_index, void *udata)
{
    (void)vcpu_index;
    g_window_begin = total_before(udata);
    g_counting = true;
}

static void on_stop(unsigned int vcpu_index, void *udata)
{
    (void)vcpu_index;
    if (!g_counting) {
        g_unmatched_stops++;
        return;
    }
    g_count += total_before(udata) - g_window_begin;
    g_pairs++;
    g_counting = false;
}

static void on_node(unsigned int vcpu_index, void *udata)
{
    (void)vcpu_index;
    if (!g_counting) {
        return;
    }
    record_checkpoint(g_count + (total_before(udata) - g_window_begin), g_vector_extra);
}

static void record_checkpoint(uint64_t count, uint64_t vextra)
{
    if (g_n_checkpoints == g_cap_checkpoints) {
        size_t cap = g_cap_checkpoints ? 2u * g_cap_checkpoints : 256u;
        uint64_t *grown = realloc(g_checkpoints, cap * 2u * sizeof *grown);
        if (grown == NULL) {
            g_checkpoints_lost = true;
            return;
        }
        g_checkpoints = grown;
        g_cap_checkpoints = cap;
    }
    g_checkpoints[2u * g_n_checkpoints] = count;
    g_checkpoints[2u * g_n_checkpoints + 1u] = vextra;
    g_n_checkpoints++;
}

static void on_marker_insn(unsigned int vcpu_index, void *udata)
{
    (void)vcpu_index;
    (void)udata;
    if (g_counting) {
        g_marker_insns++;
    }
}

/* ---- RVV decoding (only with lmul=on) ---------------------------------------------------- */

#define RV_OPCODE_OP_V     0x57u
#define RV_OPCODE_LOAD_FP  0x07u
#define RV_OPCODE_STORE_FP 0x27u
#define RV_FUNCT3_OPCFG    0x7u
#define RV_VTYPE_UNKNOWN   UINT32_MAX

static uint64_t weight_of_vlmul(uint32_t vlmul)
{
    /* vlmul 0..3 = LMUL 1, 2, 4, 8; 5..7 = 1/8, 1/4, 1/2 (one register's work or less) */
    return (vlmul <= 3u) ? (1u << vlmul) : 1u;
}

static void on_vset(unsigned int vcpu_index, void *udata)
{
    (void)vcpu_index;
    uint32_t vtype = (uint32_t)(uintptr_t)udata;
    if (vtype == RV_VTYPE_UNKNOWN) {
        /* vsetvl takes vtype from a register, which the v1 API cannot read: keep the
         * previous weight and count the event so the result can say it is approximate */
        g_vsetvl_unknown++;
        return;
    }
    g_lmul_weight = weight_of_vlmul(vtype & 0x7u);
}

static void on_vector_insn(unsigned int vcpu_index, void *udata)
{
    (void)vcpu_index;
    (void)udata;
    if (g_counting) {
        g_vector_extra += g_lmul_weight - 1u;
    }
}

/* Classifies one 32-bit RISC-V instruction and hooks it if it is a vector instruction. */
static void hook_rvv(struct qemu_plugin_insn *insn)
{
    if (qemu_plugin_insn_size(insn) != 4u) {
        return; /* compressed: never a vector instruction */
    }
    uint32_t w;
    memcpy(&w, qemu_plugin_insn_data(insn), sizeof w); /* RISC-V is little-endian */
    uint32_t opcode = w & 0x7Fu;
    uint32_t funct3 = (w >> 12) & 0x7u;

    if (opcode == RV_OPCODE_OP_V && funct3 == RV_FUNCT3_OPCFG) {
        uint32_t vtype;
        if ((w >> 31) == 0u) {
            vtype = (w >> 20) & 0x7FFu;           /* vsetvli: zimm[10:0] */
        } else if ((w >> 30) == 3u) {
            vtype = (w >> 20) & 0x3FFu;           /* vsetivli: zimm[9:0] */
        } else {
            vtype = RV_VTYPE_UNKNOWN;             /* vsetvl: vtype in rs2 */
        }
        qemu_plugin_register_vcpu_insn_exec_cb(insn, g_harts ? on_vset_cluster : on_vset,
                                               QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)vtype);
        return;
    }
    bool is_vector = (opcode == RV_OPCODE_OP_V);
    /* vector loads/stores share LOAD-FP/STORE-FP with scalar FP; width 0,5,6,7 is vector */
    if ((opcode == RV_OPCODE_LOAD_FP || opcode == RV_OPCODE_STORE_FP) &&
        (funct3 == 0u || funct3 >= 5u)) {
        is_vector = true;
    }
    if (is_vector) {
        qemu_plugin_register_vcpu_insn_exec_cb(insn,
                                               g_harts ? on_vector_insn_cluster : on_vector_insn,
                                               QEMU_PLUGIN_CB_NO_REGS, NULL);
    }
}

/* ---- translation and exit ------------------------------------------------------------------ */

static bool in_wait(uint64_t vaddr)
{
    return vaddr >= g_wait_lo && vaddr < g_wait_hi;
}

static void on_tb_trans_cluster(struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    uint64_t n_wait = 0;
    for (size_t i = 0; i < n; i++) {
        n_wait += in_wait(qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i))) ? 1u : 0u;
    }
    uint64_t packed = ((uint64_t)n - n_wait) | (n_wait << 32);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_cluster, QEMU_PLUGIN_CB_NO_REGS,
                                         (void *)(uintptr_t)packed);
    uint64_t remaining = (uint64_t)n - n_wait; /* work instructions from insn i to the end */
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
        void *rest = (void *)(uintptr_t)remaining;
        if (vaddr == g_start_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_cluster_start, QEMU_PLUGIN_CB_NO_REGS, rest);
        }
        if (vaddr == g_stop_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_cluster_stop, QEMU_PLUGIN_CB_NO_REGS, rest);
        }
        if (vaddr == g_region_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_region_begin, QEMU_PLUGIN_CB_NO_REGS, rest);
        }
        if (vaddr == g_region_end_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_region_end, QEMU_PLUGIN_CB_NO_REGS, rest);
        }
        if (vaddr == g_node_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_node_cluster, QEMU_PLUGIN_CB_NO_REGS, rest);
        }
        if (!in_wait(vaddr)) {
            remaining--;
            if (g_lmul_weighting) {
                hook_rvv(insn);
            }
        }
    }
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    if (g_harts) {
        on_tb_trans_cluster(tb);
        return;
    }
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &g_total, n);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
        void *remaining = (void *)(uintptr_t)(n - i);
        if (vaddr == g_start_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start, QEMU_PLUGIN_CB_NO_REGS,
                                                   remaining);
        }
        if (vaddr == g_stop_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_stop, QEMU_PLUGIN_CB_NO_REGS,
                                                   remaining);
        }
        if (vaddr == g_node_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_node, QEMU_PLUGIN_CB_NO_REGS,
                                                   remaining);
        }
        if (vaddr >= g_node_addr && vaddr < g_node_end) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker_insn, QEMU_PLUGIN_CB_NO_REGS,
                                                   NULL);
        }
        if (g_lmul_weighting) {
            hook_rvv(insn);
        }
    }
}

static void write_cluster(FILE *f)
{
    uint64_t work = 0, wwork = 0;
    for (unsigned v = 0; v < g_harts; v++) {
        work += g_out_work[v];
        wwork += g_out_work[v] + g_out_vextra[v];
    }
    uint64_t serial = g_out_work[0] - g_hart0_regions;
    uint64_t wserial = g_out_work[0] + g_out_vextra[0] - g_whart0_regions;
    fprintf(f,
            "insns=%" PRIu64 "\npairs=%" PRIu64 "\nopen_window=%d\nunmatched_stops=%" PRIu64
            "\nlmul_weighting=%d\nweighted_insns=%" PRIu64 "\nvsetvl_unknown=%" PRIu64
            "\nharts=%u\nregions=%" PRIu64 "\nregion_errors=%" PRIu64 "\nspan=%" PRIu64
            "\nweighted_span=%" PRIu64 "\nserial=%" PRIu64 "\n",
            work, g_pairs, g_counting ? 1 : 0, g_unmatched_stops, g_lmul_weighting ? 1 : 0, wwork,
            g_vsetvl_unknown, g_harts, g_regions, g_region_errors, serial + g_span_regions,
            wserial + g_wspan_regions, serial);
    for (unsigned v = 0; v < g_harts; v++) {
        fprintf(f, "hart %u %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", v, g_out_work[v],
                g_out_work[v] + g_out_vextra[v], g_out_sync[v]);
    }
    if (g_node_addr != UINT64_MAX) { /* the markers' own instructions stay in the span */
        fprintf(f, "marker_insns=0\ncheckpoints_lost=%d\n", g_checkpoints_lost ? 1 : 0);
        for (size_t k = 0; k < g_n_checkpoints; k++) {
            fprintf(f, "node %" PRIu64 " %" PRIu64 "\n", g_checkpoints[2u * k], g_checkpoints[2u * k + 1u]);
        }
    }
}

static void on_qemu_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    if (g_harts) {
        FILE *f = g_out_path ? fopen(g_out_path, "w") : NULL;
        if (f == NULL) {
            qemu_plugin_outs("mf_icount: cluster mode needs a writable out= file\n");
            return;
        }
        write_cluster(f);
        fclose(f);
        return;
    }
    char text[512];
    snprintf(text, sizeof text,
             "insns=%" PRIu64 "\npairs=%" PRIu64 "\nopen_window=%d\nunmatched_stops=%" PRIu64
             "\ntotal=%" PRIu64 "\nlmul_weighting=%d\nweighted_insns=%" PRIu64
             "\nvsetvl_unknown=%" PRIu64 "\n",
             g_count, g_pairs, g_counting ? 1 : 0, g_unmatched_stops, g_total,
             g_lmul_weighting ? 1 : 0, g_count + g_vector_extra, g_vsetvl_unknown);
    if (g_out_path == NULL) {
        qemu_plugin_outs(text);
        return;
    }
    FILE *f = fopen(g_out_path, "w");
    if (f == NULL) {
        qemu_plugin_outs("mf_icount: cannot open the out= file\n");
        qemu_plugin_outs(text);
        return;
    }
    fputs(text, f);
    if (g_node_addr != UINT64_MAX) {
        fprintf(f, "marker_insns=%" PRIu64 "\ncheckpoints_lost=%d\n", g_marker_insns,
                g_checkpoints_lost ? 1 : 0);
        for (size_t k = 0; k < g_n_checkpoints; k++) {
            fprintf(f, "node %" PRIu64 " %" PRIu64 "\n", g_checkpoints[2u * k],
                    g_checkpoints[2u * k + 1u]);
        }
    }
    fclose(f);
}

static bool parse_u64(const char *text, uint64_t *value)
{
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 0);
    if (end == text || *end != '\0') {
        return false;
    }
    *value = (uint64_t)v;
    return true;
}

MF_QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                              int argc, char **argv)
{
    bool is_riscv = strncmp(info->target_name, "riscv", 5) == 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        bool ok = true;
        if (strncmp(arg, "start=", 6) == 0) {
            ok = parse_u64(arg + 6, &g_start_addr);
        } else if (strncmp(arg, "stop=", 5) == 0) {
            ok = parse_u64(arg + 5, &g_stop_addr);
        } else if (strncmp(arg, "out=", 4) == 0) {
            /* QEMU frees argv after install: keep our own copy */
            g_out_path = strdup(arg + 4);
            ok = g_out_path != NULL;
        } else if (strncmp(arg, "node=", 5) == 0) {
            ok = parse_u64(arg + 5, &g_node_addr);
        } else if (strncmp(arg, "node_end=", 9) == 0) {
            ok = parse_u64(arg + 9, &g_node_end);
        } else if (strncmp(arg, "harts=", 6) == 0) {
            uint64_t h = 0;
            ok = parse_u64(arg + 6, &h) && h >= 1u && h <= MF_MAX_VCPUS;
            g_harts = (unsigned)h;
        } else if (strncmp(arg, "wait=", 5) == 0) {
            char *dash = strchr(arg + 5, '-');
            ok = dash != NULL;
            if (ok) {
                *dash = '\0';
                ok = parse_u64(arg + 5, &g_wait_lo) && parse_u64(dash + 1, &g_wait_hi);
                *dash = '-';
            }
        } else if (strncmp(arg, "region=", 7) == 0) {
            ok = parse_u64(arg + 7, &g_region_addr);
        } else if (strncmp(arg, "region_end=", 11) == 0) {
            ok = parse_u64(arg + 11, &g_region_end_addr);
        } else if (strcmp(arg, "lmul=on") == 0) {
            g_lmul_weighting = is_riscv;
        } else if (strcmp(arg, "lmul=off") == 0) {
            g_lmul_weighting = false;
        } else {
            ok = false;
        }
        if (!ok) {
            fprintf(stderr, "mf_icount: bad argument '%s'\n", arg);
            return -1; /* QEMU refuses to start: better than a silently wrong count */
        }
    }
    if (g_start_addr == UINT64_MAX || g_stop_addr == UINT64_MAX) {
        fprintf(stderr, "mf_icount: start= and stop= marker addresses are required\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
    qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
    return 0;
}
