// SPDX-License-Identifier: GPL-2.0
/*
 * VM creation through the KVM API: in-kernel irqchip and PIT, guest RAM
 * from a memfd split around the 32-bit MMIO hole, vCPU file descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "vm.h"

/* Addresses Intel VMX needs for real-mode emulation; unused RAM-wise. */
#define TSS_ADDR	0xfffbd000ul
#define IDMAP_ADDR	0xfffbc000ull

static int kvm_err(const char *what)
{
	fprintf(stderr, "host-stub: %s: %s\n", what, strerror(errno));
	return -1;
}

int vm_set_slot(struct vm *vm, int slot, uint64_t gpa, uint64_t size,
		void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return kvm_err("KVM_SET_USER_MEMORY_REGION");
	return 0;
}

void vm_set_irq(void *opaque, uint32_t irq, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level l = { .irq = irq, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		kvm_err("KVM_IRQ_LINE");
}

int vm_add_dev(struct vm *vm, struct virtio_dev *d)
{
	if (vm->ndevs >= MAX_MMIO_DEVS)
		return -1;
	vm->devs[vm->ndevs++] = d;
	return 0;
}

void vm_stop(struct vm *vm, int status, const char *reason)
{
	int i;

	pthread_mutex_lock(&vm->stop_lock);
	if (!vm->stopping) {
		__atomic_store_n(&vm->stopping, true, __ATOMIC_RELEASE);
		vm->exit_status = status;
		vm->exit_reason = reason;
	}
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
	/* Kick vCPUs out of KVM_RUN; immediate_exit closes the race with a
	 * vCPU that is just about to enter.
	 */
	for (i = 0; i < vm->nr_vcpus; i++) {
		if (!vm->vcpu[i].run)
			continue;
		vm->vcpu[i].run->immediate_exit = 1;
		if (vm->vcpu[i].thread)
			pthread_kill(vm->vcpu[i].thread, SIGUSR1);
	}
}

static int setup_ram(struct vm *vm)
{
	uint64_t low = vm->ram_size < LOWMEM_MAX ? vm->ram_size : LOWMEM_MAX;
	int err;

	err = gm_memfd("guest-ram", vm->ram_size, vm->mem_flags, &vm->ram_fd,
		       &vm->ram);
	if (err) {
		errno = -err;
		return kvm_err("guest RAM memfd");
	}
	if (vm_set_slot(vm, vm->next_slot++, 0, low, vm->ram) < 0)
		return -1;
	gm_add(&vm->mem, 0, low, vm->ram, vm->ram_fd, 0);
	if (vm->ram_size > low) {
		if (vm_set_slot(vm, vm->next_slot++, HIGHMEM_BASE,
				vm->ram_size - low, vm->ram + low) < 0)
			return -1;
		gm_add(&vm->mem, HIGHMEM_BASE, vm->ram_size - low,
		       vm->ram + low, vm->ram_fd, low);
	}
	return 0;
}

static time_t host_time(void)
{
	return time(NULL);
}

int vm_create(struct vm *vm, uint64_t ram_size, int nr_vcpus,
	      unsigned int mem_flags)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = IDMAP_ADDR;
	int i;

	memset(vm, 0, sizeof(*vm));
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	rtc_init(&vm->rtc, host_time);
	vm->ram_size = ram_size;
	vm->mem_flags = mem_flags;
	vm->nr_vcpus = nr_vcpus;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return kvm_err("/dev/kvm");
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		fprintf(stderr, "host-stub: unexpected KVM API version\n");
		return -1;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return kvm_err("KVM_CREATE_VM");
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
		return kvm_err("KVM_SET_TSS_ADDR");
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return kvm_err("KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return kvm_err("KVM_CREATE_IRQCHIP");
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return kvm_err("KVM_CREATE_PIT2");
	if (setup_ram(vm) < 0)
		return -1;
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0)
		return kvm_err("KVM_GET_VCPU_MMAP_SIZE");
	for (i = 0; i < nr_vcpus; i++) {
		struct vcpu *c = &vm->vcpu[i];
		void *run;

		c->vm = vm;
		c->id = i;
		c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		if (c->fd < 0)
			return kvm_err("KVM_CREATE_VCPU");
		run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			   MAP_SHARED, c->fd, 0);
		if (run == MAP_FAILED)
			return kvm_err("mmap kvm_run");
		c->run = run;
		/* statistics are a report, not a need: absent, we go on */
		kvm_counters_open(&c->kvm_stats,
				  ioctl(c->fd, KVM_GET_STATS_FD, 0));
	}
	return 0;
}
