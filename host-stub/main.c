// SPDX-License-Identifier: GPL-2.0
/*
 * host-stub: a small KVM monitor that boots a Linux bzImage and plays the
 * host side of virtio-mem, virtio-balloon (with free page reporting) and
 * the Hyper-V extended memory hypercalls, with statistics and fault
 * injection on a control socket.  See README.md.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <linux/kvm.h>

#include "balloon.h"
#include "boot.h"
#include "control.h"
#include "fault.h"
#include "hyperv.h"
#include "parse.h"
#include "serial.h"
#include "stats.h"
#include "vm.h"
#include "vmem.h"

#define EXIT_TIMEOUT	124
#define GRACE_NS	(5 * 1000000000ull)

struct opts {
	const char *kernel, *initrd, *append, *console, *control, *stats_out;
	uint64_t mem, vmem, vmem_block, vmem_requested, vmem_plugged;
	int smp, timeout;
	bool balloon, hyperv, hot_unmapped, thp, poison, lie_zeroed;
};

static void print_help(void)
{
	fprintf(stderr,
		"usage: host-stub --kernel bzImage [options]\n"
		"  --initrd FILE          initramfs\n"
		"  --append ARGS          kernel command line\n"
		"  --mem SIZE             boot RAM (default 512M)\n"
		"  --smp N                vCPUs, 1 to 4 (default 1)\n"
		"  --console FILE         serial console output (default stdout)\n"
		"  --timeout S            time limit in seconds (default 600)\n"
		"  --vmem SIZE            add a virtio-mem device of SIZE\n"
		"  --vmem-block SIZE      its block size (default 2M)\n"
		"  --vmem-requested SIZE  its requested size at boot\n"
		"  --vmem-plugged SIZE    plugged (and dirty) at boot, as a\n"
		"                         previous guest left it\n"
		"  --balloon              add a virtio-balloon with reporting\n"
		"  --hyperv               Hyper-V CPUID and extended hypercalls\n"
		"  --hot-unmapped         hot hints back memory but leave it\n"
		"                         unmapped for the guest (comparisons)\n"
		"  --thp                  back guest memory with transparent\n"
		"                         huge pages (needs shmem THP enabled)\n"
		"  --poison               what the guest gives back reads 0x6b\n"
		"                         when touched again, not zero; the last\n"
		"                         discards are listed if the guest dies\n"
		"  --lie-zeroed           (tests) boot-zeroed ranges hold data\n"
		"  --control PATH         control socket (JSON lines)\n"
		"  --stats-out FILE       statistics as JSON at exit\n"
		"or:    host-stub ctl SOCKET JSON   send one control request,\n"
		"                                   print the reply\n"
		"Exit status: the guest's (\"VMDENSE-EXIT n\" on the console,\n"
		"then halt or reset; or a byte written to port 0x501), 0 when\n"
		"it resets without one, 124 at the time limit, 1 on errors.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "kernel", 1, NULL, 'k' }, { "initrd", 1, NULL, 'i' },
		{ "append", 1, NULL, 'a' }, { "mem", 1, NULL, 'm' },
		{ "smp", 1, NULL, 's' }, { "console", 1, NULL, 'c' },
		{ "timeout", 1, NULL, 't' }, { "vmem", 1, NULL, 'v' },
		{ "vmem-block", 1, NULL, 'B' }, { "vmem-requested", 1, NULL, 'R' },
		{ "vmem-plugged", 1, NULL, 'P' },
		{ "balloon", 0, NULL, 'b' }, { "hyperv", 0, NULL, 'H' },
		{ "hot-unmapped", 0, NULL, 'U' }, { "thp", 0, NULL, 'T' },
		{ "poison", 0, NULL, 'p' }, { "lie-zeroed", 0, NULL, 'L' },
		{ "control", 1, NULL, 'C' }, { "stats-out", 1, NULL, 'S' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c, bad = 0;

	memset(o, 0, sizeof(*o));
	o->append = "";
	o->mem = 512 * MIB;
	o->smp = 1;
	o->timeout = 600;
	o->vmem_block = 2 * MIB;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->kernel = optarg;
			break;
		case 'i':
			o->initrd = optarg;
			break;
		case 'a':
			o->append = optarg;
			break;
		case 'c':
			o->console = optarg;
			break;
		case 'C':
			o->control = optarg;
			break;
		case 'S':
			o->stats_out = optarg;
			break;
		case 'b':
			o->balloon = true;
			break;
		case 'H':
			o->hyperv = true;
			break;
		case 'U':
			o->hot_unmapped = true;
			break;
		case 'T':
			o->thp = true;
			break;
		case 's':
			bad |= parse_int(optarg, 1, MAX_VCPUS, &o->smp);
			break;
		case 't':
			bad |= parse_int(optarg, 1, 7 * 24 * 3600, &o->timeout);
			break;
		case 'p':
			o->poison = true;
			break;
		case 'L':
			o->lie_zeroed = true;
			break;
		case 'm':
			bad |= parse_size(optarg, &o->mem);
			break;
		case 'v':
			bad |= parse_size(optarg, &o->vmem);
			break;
		case 'B':
			bad |= parse_size(optarg, &o->vmem_block);
			break;
		case 'R':
			bad |= parse_size(optarg, &o->vmem_requested);
			break;
		case 'P':
			bad |= parse_size(optarg, &o->vmem_plugged);
			break;
		default:
			bad = 1;
			break;
		}
	}
	if (bad || !o->kernel || optind != argc || o->mem < 64 * MIB) {
		print_help();
		return -1;
	}
	return 0;
}

static int vmem_slot(void *ctx, int slot, uint64_t gpa, uint64_t size,
		     void *hva)
{
	return vm_set_slot(ctx, slot, gpa, size, hva);
}

static int add_vmem(struct vm *vm, const struct opts *o, uint64_t base,
		    uint32_t irq)
{
	struct vmem *v = calloc(1, sizeof(*v));
	uint64_t top = HIGHMEM_BASE, addr;
	uint8_t *hva;
	int fd, max_slots;

	if (vm->ram_size > LOWMEM_MAX)
		top += vm->ram_size - LOWMEM_MAX;
	/* after RAM, aligned for Linux's 128 MiB memory blocks and more */
	addr = (top + GIB - 1) & ~(GIB - 1);
	if (!v || gm_memfd("virtio-mem", o->vmem, vm->mem_flags, &fd, &hva) < 0)
		return -1;
	if (vmem_create(v, &vm->mem, addr, o->vmem, o->vmem_block, fd,
			hva) < 0) {
		fprintf(stderr, "host-stub: bad virtio-mem size/block size\n");
		return -1;
	}
	max_slots = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if ((uint64_t)vm->next_slot + v->nblocks > (uint64_t)max_slots) {
		fprintf(stderr,
			"host-stub: %llu virtio-mem blocks need more than the %d KVM memory slots\n",
			(unsigned long long)v->nblocks, max_slots);
		return -1;
	}
	v->set_slot = vmem_slot;
	v->slot_ctx = vm;
	v->slot_base = vm->next_slot;
	vm->next_slot += v->nblocks;
	virtio_dev_init(&v->dev, &vmem_ops, v, base, irq, gm_map, &vm->mem,
			vm_set_irq, vm);
	vmem_preplug(v, o->vmem_plugged);
	vmem_set_requested(v, o->vmem_requested);
	vm->vmem = v;
	return vm_add_dev(vm, &v->dev);
}

static int add_balloon(struct vm *vm, uint64_t base, uint32_t irq)
{
	struct balloon *b = calloc(1, sizeof(*b));

	if (!b)
		return -1;
	balloon_init(b, &vm->mem);
	virtio_dev_init(&b->dev, &balloon_ops, b, base, irq, gm_map, &vm->mem,
			vm_set_irq, vm);
	vm->balloon = b;
	return vm_add_dev(vm, &b->dev);
}

/*
 * Wait for a stop request, the time limit, or a guest that reported its
 * status and then halted (see struct serial): checked every 100 ms.
 */
static void wait_stop(struct vm *vm, struct serial *s, int timeout)
{
	uint64_t end = now_ns() + timeout * 1000000000ull, marker_ns = 0;
	struct timespec ts;

	pthread_mutex_lock(&vm->stop_lock);
	while (!vm_stopping(vm) && now_ns() < end) {
		bool marker, final;

		pthread_mutex_lock(&s->lock);
		marker = s->marker_status >= 0;
		final = s->final_line_seen;
		pthread_mutex_unlock(&s->lock);
		if (marker && !marker_ns)
			marker_ns = now_ns();
		/* grace for the kernel's own shutdown after the marker */
		if (final || (marker_ns && now_ns() - marker_ns > GRACE_NS)) {
			pthread_mutex_unlock(&vm->stop_lock);
			vm_stop(vm, -1, "guest reported its exit status");
			return;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&vm->stop_cond, &vm->stop_lock, &ts);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (!vm_stopping(vm))
		vm_stop(vm, EXIT_TIMEOUT, "time limit reached");
}

static void write_stats(struct vm *vm, const char *path)
{
	struct json_object *o = stats_json(vm);
	FILE *f = fopen(path, "w");

	if (f) {
		fprintf(f, "%s\n",
			json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		fclose(f);
	}
	json_object_put(o);
}

/* The client side of the control socket, for scripts in the L1 guest. */
static int ctl_client(const char *path, const char *req)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char buf[65536];
	size_t len = 0;
	ssize_t n;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return 1;
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror(path);
		return 1;
	}
	if (write(fd, req, strlen(req)) < 0 || write(fd, "\n", 1) < 0) {
		perror("write");
		return 1;
	}
	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += n;
		if (memchr(buf, '\n', len))
			break;
	}
	close(fd);
	buf[len] = 0;
	fputs(buf, stdout);
	return strstr(buf, "\"ok\":true") ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct vm vm;
	struct serial serial;
	struct boot_info bi;
	struct hyperv hv;
	struct opts o;
	char *cmdline;
	size_t cl_len;
	uint64_t base = MMIO_DEV_BASE;
	uint32_t irq = FIRST_DEV_IRQ;
	int out_fd = 1, status, i;

	if (argc == 4 && !strcmp(argv[1], "ctl"))
		return ctl_client(argv[2], argv[3]);
	if (parse_opts(argc, argv, &o) < 0)
		return 1;
	if (o.console) {
		out_fd = open(o.console, O_WRONLY | O_CREAT | O_TRUNC |
			      O_CLOEXEC, 0644);
		if (out_fd < 0) {
			perror(o.console);
			return 1;
		}
	}
	if (o.thp && !gm_thp_available()) {
		fprintf(stderr,
			"host-stub: --thp: shmem THP is off on this host (echo advise >/sys/kernel/mm/transparent_hugepage/shmem_enabled)\n");
		return 1;
	}
	if (vm_create(&vm, o.mem, o.smp, o.thp ? GM_THP : 0) < 0)
		return 1;
	serial_init(&serial, out_fd, SERIAL_IRQ, vm_set_irq, &vm);
	vm.serial = &serial;
	gm_poison(o.poison);
	if (o.hyperv) {
		hyperv_init(&hv, &vm.mem);
		hv.lie_zeroed = o.lie_zeroed;
		vm.hv = &hv;
		if (!o.hot_unmapped)
			vcpus_enable_stage2_hints(&vm);
	}
	if (o.vmem && add_vmem(&vm, &o, base, irq) < 0)
		return 1;
	if (o.vmem) {
		base += VIRTIO_MMIO_SIZE;
		irq++;
	}
	if (o.balloon && add_balloon(&vm, base, irq) < 0)
		return 1;

	cl_len = strlen(o.append) + 64 * (vm.ndevs + 1);
	cmdline = calloc(1, cl_len);
	if (!cmdline)
		return 1;
	snprintf(cmdline, cl_len, "%s", o.append);
	for (i = 0; i < vm.ndevs; i++)
		virtio_cmdline(vm.devs[i], cmdline + strlen(cmdline),
			       cl_len - strlen(cmdline));
	if (boot_load(&vm, o.kernel, o.initrd, cmdline, &bi) < 0)
		return 1;
	if (control_start(&vm, o.control) < 0)
		return 1;
	if (vcpus_start(&vm, &bi) < 0) {
		vm_stop(&vm, 1, "vCPU start failed");
		control_stop();
		return 1;
	}
	wait_stop(&vm, &serial, o.timeout);
	vcpus_join(&vm);
	control_stop();

	status = vm.exit_status;
	/* a guest that died: what it gave back last, for the post-mortem */
	if (status < 0 && serial.marker_status < 0)
		gm_discards_dump(stderr);
	if (status < 0)
		status = serial.marker_status >= 0 ? serial.marker_status : 0;
	fprintf(stderr, "host-stub: %s, exit status %d\n", vm.exit_reason,
		status);
	if (o.stats_out)
		write_stats(&vm, o.stats_out);
	return status;
}
