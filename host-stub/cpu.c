// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU threads: CPUID, the KVM_RUN loop and the dispatch of exits to the
 * serial port, the legacy ports a Linux guest pokes, the virtio-mmio
 * devices, the virtio-mem region and the Hyper-V hypercall handler.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "boot.h"
#include "cpuid.h"
#include "hyperv.h"
#include "serial.h"
#include "vm.h"
#include "vmem.h"

#define MAX_CPUID	256
#define PORT_KBD_CTL	0x64
#define PORT_EXIT	0x501	/* guest writes its exit status here */
#define KBD_RESET	0xfe

static struct kvm_cpuid2 *supported_cpuid(int kvm_fd)
{
	struct kvm_cpuid2 *c;

	c = calloc(1, sizeof(*c) + MAX_CPUID * sizeof(c->entries[0]));
	if (!c)
		return NULL;
	c->nent = MAX_CPUID;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		fprintf(stderr, "host-stub: KVM_GET_SUPPORTED_CPUID: %s\n",
			strerror(errno));
		free(c);
		return NULL;
	}
	return c;
}

static int setup_cpuid(struct vcpu *cpu, const struct kvm_cpuid2 *sup)
{
	size_t sz = sizeof(*sup) + MAX_CPUID * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	unsigned int i;
	int ret;

	if (!c)
		return -1;
	memcpy(c, sup, sz);
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* initial APIC id, and the vCPU count per package */
			e->ebx = (e->ebx & 0x0000ffff) | (cpu->id << 24) |
				 (cpu->vm->nr_vcpus << 16);
			/*
			 * KVM leaves the "running on a hypervisor" bit to us;
			 * without it Linux looks for neither KVM nor Hyper-V.
			 */
			e->ecx |= 1u << 31;
			break;
		case 0xb:
		case 0x1f:
			e->edx = cpu->id;	/* x2APIC id */
			break;
		}
	}
	cpuid_hide_virt(c);
	if (cpu->vm->hv)
		hyperv_cpuid(cpu->vm->hv, c, MAX_CPUID);
	ret = ioctl(cpu->fd, KVM_SET_CPUID2, c);
	if (ret < 0)
		fprintf(stderr, "host-stub: KVM_SET_CPUID2: %s\n",
			strerror(errno));
	free(c);
	return ret;
}

static void port_io(struct vcpu *cpu, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint16_t port = run->io.port;
	struct vm *vm = cpu->vm;
	unsigned int i;

	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		if (port >= SERIAL_BASE && port < SERIAL_BASE + SERIAL_PORTS) {
			if (run->io.direction == KVM_EXIT_IO_OUT)
				serial_out(vm->serial, port - SERIAL_BASE,
					   data[0]);
			else
				data[0] = serial_in(vm->serial,
						    port - SERIAL_BASE);
			continue;
		}
		if (rtc_port(port)) {
			if (run->io.direction == KVM_EXIT_IO_OUT)
				rtc_out(&vm->rtc, port, data[0]);
			else
				data[0] = rtc_in(&vm->rtc, port);
			continue;
		}
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			if (port == PORT_KBD_CTL && data[0] == KBD_RESET)
				vm_stop(vm, -1, "guest reset");
			else if (port == PORT_EXIT)
				vm_stop(vm, data[0], "guest exit port");
			continue;
		}
		/*
		 * Reads of absent hardware float high, except the keyboard
		 * controller status, which must say "input buffer empty"
		 * so that Linux's reset-by-keyboard-controller does not spin.
		 */
		memset(data, port == PORT_KBD_CTL ? 0 : 0xff, run->io.size);
	}
}

static void mmio(struct vcpu *cpu, struct kvm_run *run)
{
	struct vm *vm = cpu->vm;
	uint64_t a = run->mmio.phys_addr;
	uint32_t len = run->mmio.len;
	int i;

	if (len > 8)
		return;
	for (i = 0; i < vm->ndevs; i++) {
		struct virtio_dev *d = vm->devs[i];

		if (a >= d->base && a - d->base < VIRTIO_MMIO_SIZE) {
			if (run->mmio.is_write)
				virtio_mmio_write(d, a - d->base,
						  run->mmio.data, len);
			else
				virtio_mmio_read(d, a - d->base,
						 run->mmio.data, len);
			return;
		}
	}
	if (vm->vmem && vmem_violation(vm->vmem, a, len, run->mmio.is_write)) {
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0, len);
		return;
	}
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, len);
}

/*
 * Where a vCPU was when the guest triple-faulted (or rebooted that way).
 * On Intel that is the faulting state; on AMD KVM has already reset the
 * vCPU by the time we see the exit (rip 0xfff0), which at least tells
 * the two apart.
 */
static void dump_regs(struct vcpu *cpu)
{
	struct kvm_regs r;
	struct kvm_sregs sr;

	if (ioctl(cpu->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(cpu->fd, KVM_GET_SREGS, &sr) < 0)
		return;
	fprintf(stderr,
		"host-stub: vCPU %d at shutdown: rip 0x%llx rsp 0x%llx rflags 0x%llx cr0 0x%llx cr2 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx\n",
		cpu->id, (unsigned long long)r.rip, (unsigned long long)r.rsp,
		(unsigned long long)r.rflags, (unsigned long long)sr.cr0,
		(unsigned long long)sr.cr2, (unsigned long long)sr.cr3,
		(unsigned long long)sr.cr4, (unsigned long long)sr.efer);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *cpu = arg;
	struct vm *vm = cpu->vm;
	struct kvm_run *run = cpu->run;

	while (!vm_stopping(vm)) {
		if (ioctl(cpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				run->immediate_exit = 0;
				continue;
			}
			fprintf(stderr, "host-stub: KVM_RUN: %s\n",
				strerror(errno));
			vm_stop(vm, 1, "KVM_RUN failed");
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			port_io(cpu, run);
			break;
		case KVM_EXIT_MMIO:
			mmio(cpu, run);
			break;
		case KVM_EXIT_HYPERV:
			if (vm->hv)
				hyperv_exit(vm->hv, &run->hyperv, cpu);
			break;
		case KVM_EXIT_SHUTDOWN:
			dump_regs(cpu);
			vm_stop(vm, -1, "guest shutdown (triple fault)");
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			vm_stop(vm, -1, "guest system event");
			break;
		case KVM_EXIT_HLT:
			vm_stop(vm, -1, "guest halted");
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_FAIL_ENTRY:
			fprintf(stderr, "host-stub: vCPU %d entry failed: 0x%llx\n",
				cpu->id, (unsigned long long)
				run->fail_entry.hardware_entry_failure_reason);
			vm_stop(vm, 1, "entry failed");
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			fprintf(stderr, "host-stub: vCPU %d internal error %u\n",
				cpu->id, run->internal.suberror);
			vm_stop(vm, 1, "KVM internal error");
			break;
		default:
			fprintf(stderr, "host-stub: vCPU %d: unhandled exit %u\n",
				cpu->id, run->exit_reason);
			vm_stop(vm, 1, "unhandled exit");
			break;
		}
	}
	return NULL;
}

/*
 * KVM_PRE_FAULT_MEMORY (Linux 6.10) spelled out: the build host's
 * headers may predate it, the L1 kernel that runs us has it.
 */
struct stage2_range {
	uint64_t gpa, size, flags, padding[5];
};

#define STAGE2_PRE_FAULT	_IOWR(KVMIO, 0xd5, struct stage2_range)
#define CAP_STAGE2_PRE_FAULT	236

/*
 * hv_stage2_map_fn for the vCPU whose hypercall this is, in its own
 * thread: the ioctl takes the vCPU's mutex, which KVM_RUN holds. KVM maps
 * what it can per call and leaves the rest in @r; a SIGUSR1 kick ends a
 * call early, so go on until all is mapped, an error, or the VM stops.
 */
static int vcpu_stage2_map(void *opaque, uint64_t gpa, uint64_t len)
{
	struct vcpu *cpu = opaque;
	struct stage2_range r = { .gpa = gpa, .size = len };

	while (r.size && !vm_stopping(cpu->vm)) {
		if (ioctl(cpu->fd, STAGE2_PRE_FAULT, &r) < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

void vcpus_enable_stage2_hints(struct vm *vm)
{
	if (vm->hv &&
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, CAP_STAGE2_PRE_FAULT) > 0)
		vm->hv->stage2_map = vcpu_stage2_map;
}

static void sig_nop(int sig)
{
	(void)sig;
}

int vcpus_start(struct vm *vm, const struct boot_info *bi)
{
	struct kvm_cpuid2 *sup = supported_cpuid(vm->kvm_fd);
	struct sigaction sa;
	int i;

	if (!sup)
		return -1;
	/* SIGUSR1 only interrupts KVM_RUN: no SA_RESTART on purpose. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_nop;
	sigaction(SIGUSR1, &sa, NULL);
	for (i = 0; i < vm->nr_vcpus; i++) {
		if (setup_cpuid(&vm->vcpu[i], sup) < 0) {
			free(sup);
			return -1;
		}
	}
	free(sup);
	/* after CPUID: KVM checks EFER.LME against the guest's CPUID */
	if (boot_setup_bsp(vm, vm->vcpu[0].fd, bi) < 0) {
		fprintf(stderr, "host-stub: boot vCPU registers: %s\n",
			strerror(errno));
		return -1;
	}
	for (i = 0; i < vm->nr_vcpus; i++) {
		if (pthread_create(&vm->vcpu[i].thread, NULL, vcpu_thread,
				   &vm->vcpu[i])) {
			vm_stop(vm, 1, "thread creation failed");
			return -1;
		}
	}
	return 0;
}

void vcpus_join(struct vm *vm)
{
	int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpu[i].thread)
			pthread_join(vm->vcpu[i].thread, NULL);
}
