/* The subset of QEMU's TCG plugin API (version 1, as in QEMU 6.x-8.x) that mf_icount.c uses.
 *
 * Why our own header: Debian's QEMU 7.2 packages load plugins but ship no qemu-plugin.h.
 * These declarations follow QEMU's documented plugin API (docs/devel/tcg-plugins.rst); the
 * functions are exported by the QEMU binary and resolved when the plugin is dlopen()ed.
 * Only what we call is declared. QEMU 9.0 changed qemu_plugin_insn_data() to copy into a
 * buffer: this plugin targets the v1 signature and QEMU checks qemu_plugin_version at load. */
#ifndef MF_QEMU_PLUGIN_API_H
#define MF_QEMU_PLUGIN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))

/* Opaque handles owned by QEMU. */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;

/* Passed to qemu_plugin_install(); we only read target_name. */
typedef struct {
    const char *target_name;
    struct {
        int min;
        int cur;
    } version;
    bool system_emulation;
    union {
        struct {
            int smp_vcpus;
            int max_vcpus;
        } system;
    };
} qemu_info_t;

enum qemu_plugin_cb_flags {
    QEMU_PLUGIN_CB_NO_REGS, /* the callback reads no guest registers */
    QEMU_PLUGIN_CB_R_REGS,
    QEMU_PLUGIN_CB_RW_REGS,
};

enum qemu_plugin_op {
    QEMU_PLUGIN_INLINE_ADD_U64, /* *ptr += imm, emitted as TCG ops: no call per execution */
};

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

/* Called on every translation of a block, not on every execution. */
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
/* A call per execution of the block with the executing vCPU's index (cluster mode). */
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
                                          qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb,
                                    void *userdata);

size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn); /* v1 signature */
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);

/* Written to QEMU's log; visible with -d plugin. */
void qemu_plugin_outs(const char *string);

#endif /* MF_QEMU_PLUGIN_API_H */
