/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The virtual machine: KVM file descriptors, guest memory, vCPU threads,
 * the MMIO device list and the shared statistics.
 */
#ifndef HOST_STUB_VM_H
#define HOST_STUB_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "kvm_stats.h"
#include "rtc.h"
#include "virtio_mmio.h"

#define MAX_VCPUS	4
#define MAX_MMIO_DEVS	4
#define GIB		(1ull << 30)
#define MIB		(1ull << 20)

/* Memory map: RAM below the 32-bit hole, the rest above 4 GiB. */
#define LOWMEM_MAX	(3 * GIB)
#define HIGHMEM_BASE	(4 * GIB)
#define MMIO_DEV_BASE	0xd0000000ull
#define SERIAL_IRQ	4
#define FIRST_DEV_IRQ	5

struct vm;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	struct kvm_counters kvm_stats;	/* fd -1 where KVM has none */
};

struct vm {
	int kvm_fd, vm_fd;
	int nr_vcpus;
	struct vcpu vcpu[MAX_VCPUS];
	long run_size;

	uint64_t ram_size;	/* boot RAM */
	unsigned int mem_flags;	/* GM_* of every guest memfd */
	int ram_fd;
	uint8_t *ram;
	struct guest_mem mem;
	int next_slot;

	struct virtio_dev *devs[MAX_MMIO_DEVS];
	int ndevs;
	struct vmem *vmem;	/* virtio-mem, NULL if none */
	struct balloon *balloon;
	struct hyperv *hv;	/* NULL: no Hyper-V enlightenments */

	/*
	 * stop request: set once under stop_lock, read by every thread
	 * (through vm_stopping(), an atomic load)
	 */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
	int exit_status;
	const char *exit_reason;

	/* console */
	struct serial *serial;
	struct rtc rtc;
};

/* @mem_flags: GM_* for guest memory (GM_THP: transparent huge pages) */
int vm_create(struct vm *vm, uint64_t ram_size, int nr_vcpus,
	      unsigned int mem_flags);

/* Register [gpa, gpa+size) at hva as KVM memory slot @slot (size 0 drops). */
int vm_set_slot(struct vm *vm, int slot, uint64_t gpa, uint64_t size,
		void *hva);

/* Interrupt line for in-kernel irqchip GSI @irq. */
void vm_set_irq(void *vm, uint32_t irq, int level);

int vm_add_dev(struct vm *vm, struct virtio_dev *d);

/* Ask every thread to stop; the first caller's status wins. */
void vm_stop(struct vm *vm, int status, const char *reason);

/* Whether a stop was asked for; any thread may ask this. */
static inline bool vm_stopping(const struct vm *vm)
{
	return __atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE);
}

struct boot_info;

/*
 * Hot hints also map their range for the guest (stage 2), where KVM can
 * (KVM_CAP_PRE_FAULT_MEMORY); without, they only back it in memory.
 */
void vcpus_enable_stage2_hints(struct vm *vm);

/* CPUID on every vCPU, boot registers on vCPU 0, then the threads. */
int vcpus_start(struct vm *vm, const struct boot_info *bi);
void vcpus_join(struct vm *vm);

#endif
