/*
 * QEMU TCG plugin (plugin API version 1; loads in QEMU 7.2 and 10.0) counting executed guest
 * instructions. Every time the guest executes the instruction at `marker=0xADDR` (the
 * firmware's `insn_marker` function), it prints how many instructions ran since the
 * previous hit:
 *     insn_marker <hit>: <count> insns since previous marker
 * and at exit the total. Odd hits close a measured region (the firmware calls the marker
 * before and after each measured step).
 *
 * Build: gcc -shared -fPIC -O2 [-DQEMU_PLUGIN_API=2] -o libinsncount.so insncount.c
 *        (API 2 for QEMU 9 and later, which refuse version 1)
 * Use:   qemu-system-arm ... -plugin ./libinsncount.so,marker=0xADDR -d plugin -kernel ELF
 *        (-d plugin is needed, or QEMU drops the plugin's output)
 *
 * Debian ships no qemu-plugin.h, so the handful of API declarations used are written here;
 * they must match the QEMU the plugin is loaded into. Only functions present in every API
 * version are used (QEMU 9 removed the inline counter op of version 1), so one build loads
 * in Debian's QEMU 7.2 and bookworm-backports' 10.0.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;

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

struct qemu_plugin_tb;
struct qemu_plugin_insn;

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

/* The API version the plugin declares: 1 for QEMU 7.x, 2 (the oldest QEMU 9 and 10 still
 * accept) for newer ones; the functions used are the same in both. */
#ifndef QEMU_PLUGIN_API
#define QEMU_PLUGIN_API 1
#endif
__attribute__((visibility("default"))) int qemu_plugin_version = QEMU_PLUGIN_API;

static uint64_t executed;      /* instructions executed so far (inline counter) */
static uint64_t at_last_hit;   /* value of `executed` at the previous marker hit */
static uint64_t marker = UINT64_MAX;
static unsigned hits;

static void on_marker(unsigned int vcpu, void *userdata)
{
    (void)vcpu;
    (void)userdata;
    if (hits > 0) {
        char line[96];
        snprintf(line, sizeof line, "insn_marker %u: %" PRIu64 " insns since previous marker\n",
                 hits, executed - at_last_hit);
        qemu_plugin_outs(line);
    }
    at_last_hit = executed;
    hits++;
}

/* One call per executed instruction. (QEMU 7's inline counter op was removed in QEMU 9;
 * a callback exists in every plugin API version, at the price of speed.) */
static void on_insn(unsigned int vcpu, void *userdata)
{
    (void)vcpu;
    (void)userdata;
    executed++;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, QEMU_PLUGIN_CB_NO_REGS, NULL);
        /* Thumb addresses carry bit 0 in the symbol value; compare without it. */
        if ((qemu_plugin_insn_vaddr(insn) & ~(uint64_t)1) == marker)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS, NULL);
    }
}

static void at_exit(qemu_plugin_id_t id, void *userdata)
{
    char line[64];
    (void)id;
    (void)userdata;
    snprintf(line, sizeof line, "total insns: %" PRIu64 "\n", executed);
    qemu_plugin_outs(line);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const qemu_info_t *info,
                                                               int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "marker=", 7) == 0)
            marker = strtoull(argv[i] + 7, NULL, 0) & ~(uint64_t)1;
    }
    if (marker == UINT64_MAX) {
        fprintf(stderr, "insncount: missing marker=0xADDR argument\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
