/*
 * QEMU TCG plugin (plugin API 1 or 2, chosen at build time; loads in QEMU 7.2 and 10.0) counting executed guest
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
 * Profile: add ,from=A,to=B to also count every instruction address executed inside the
 *        measured pairs (from an even hit to the next odd one) between hits A and B (hits
 *        counted from 0), printed at exit as `pc 0xADDR <count>` lines (tools/profile.py
 *        sums them per function). For finding where a step's instructions go; the counts
 *        above are unchanged.
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

static uint64_t executed;      /* instructions executed so far (per-instruction callback) */
static uint64_t at_last_hit;   /* value of `executed` at the previous marker hit */
static uint64_t marker = UINT64_MAX;
static unsigned hits;

/* Profile: per-address counts between hits prof_from and prof_to (open addressing). */
#define PROF_SLOTS (1u << 16)
static unsigned prof_from = 1, prof_to = 0; /* empty range: no profile */
static uint64_t prof_pc[PROF_SLOTS];
static uint64_t prof_n[PROF_SLOTS];

static uint64_t *prof_slot(uint64_t pc)
{
    uint32_t i = (uint32_t)((pc >> 1) * 2654435761u) & (PROF_SLOTS - 1);
    while (prof_n[i] != 0 && prof_pc[i] != pc)
        i = (i + 1) & (PROF_SLOTS - 1);
    prof_pc[i] = pc;
    return &prof_n[i];
}

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
    executed++;
    /* Inside a measured pair: after an even hit (hits then odd), before the odd one. */
    if ((hits & 1) && hits > prof_from && hits <= prof_to)
        (*prof_slot((uint64_t)(uintptr_t)userdata))++;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, QEMU_PLUGIN_CB_NO_REGS,
                                               (void *)(uintptr_t)qemu_plugin_insn_vaddr(insn));
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
    for (uint32_t i = 0; i < PROF_SLOTS; i++) {
        if (prof_n[i] == 0)
            continue;
        snprintf(line, sizeof line, "pc 0x%" PRIx64 " %" PRIu64 "\n", prof_pc[i], prof_n[i]);
        qemu_plugin_outs(line);
    }
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const qemu_info_t *info,
                                                               int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "marker=", 7) == 0)
            marker = strtoull(argv[i] + 7, NULL, 0) & ~(uint64_t)1;
        else if (strncmp(argv[i], "from=", 5) == 0)
            prof_from = (unsigned)strtoul(argv[i] + 5, NULL, 0);
        else if (strncmp(argv[i], "to=", 3) == 0)
            prof_to = (unsigned)strtoul(argv[i] + 3, NULL, 0);
    }
    if (marker == UINT64_MAX) {
        fprintf(stderr, "insncount: missing marker=0xADDR argument\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
