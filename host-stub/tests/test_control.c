// SPDX-License-Identifier: GPL-2.0
/* The control protocol, without a socket: request line in, reply out. */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "balloon.h"
#include "control.h"
#include "serial.h"
#include "test.h"
#include "vm.h"
#include "vmem.h"

static struct vm vm;

/* Send @line, return the reply parsed (caller puts it). */
static struct json_object *ask(const char *line)
{
	char *out = control_handle(&vm, line);
	struct json_object *o = json_tokener_parse(out);

	free(out);
	return o;
}

static int ok(struct json_object *o)
{
	struct json_object *m;

	return json_object_object_get_ex(o, "ok", &m) &&
	       json_object_get_boolean(m);
}

static int ask_ok(const char *line)
{
	struct json_object *o = ask(line);
	int r = ok(o);

	json_object_put(o);
	return r;
}

static uint64_t path_u64(struct json_object *o, const char *a, const char *b,
			 const char *c)
{
	struct json_object *m = o;

	if (!json_object_object_get_ex(m, a, &m) ||
	    !json_object_object_get_ex(m, b, &m) ||
	    (c && !json_object_object_get_ex(m, c, &m)))
		return UINT64_MAX;
	return json_object_get_uint64(m);
}

void test_control(void)
{
	static struct vmem v;
	static struct balloon b;
	static struct serial serial;
	struct json_object *o;
	uint8_t *hva;
	int fd;

	vm.ram_fd = -1;
	pthread_mutex_init(&vm.stop_lock, NULL);
	pthread_cond_init(&vm.stop_cond, NULL);
	CHECK(gm_memfd("ctl-vmem", 32 << 20, 0, &fd, &hva) == 0);
	CHECK(vmem_create(&v, &vm.mem, 1ull << 32, 32 << 20, 2 << 20, fd,
			  hva) == 0);
	virtio_dev_init(&v.dev, &vmem_ops, &v, 0xd0000000, 5, gm_map, &vm.mem,
			NULL, NULL);
	vm.vmem = &v;
	balloon_init(&b, &vm.mem);
	virtio_dev_init(&b.dev, &balloon_ops, &b, 0xd0000200, 6, gm_map,
			&vm.mem, NULL, NULL);
	vm.balloon = &b;

	CHECK(ask_ok("{\"cmd\":\"vmem-set-requested\",\"size\":8388608}"));
	CHECK(v.requested == 8 << 20 && v.dev.config_gen == 1);
	CHECK(!ask_ok("{\"cmd\":\"vmem-set-requested\",\"size\":-5}"));
	CHECK(!ask_ok("{\"cmd\":\"vmem-set-requested\",\"size\":\"x\"}"));
	CHECK(ask_ok("{\"cmd\":\"balloon-set-target\",\"pages\":1000}"));
	CHECK(b.target_pages == 1000);
	CHECK(!ask_ok("{\"cmd\":\"balloon-set-target\",\"pages\":8589934592}"));
	CHECK(ask_ok("{\"cmd\":\"fault\",\"dev\":\"vmem\",\"nack\":3,\"busy\":1,\"delay_ms\":50}"));
	CHECK(v.faults.nack == 3 && v.faults.busy == 1 &&
	      v.faults.delay_ms == 50);
	CHECK(ask_ok("{\"cmd\":\"fault\",\"dev\":\"balloon\",\"drop\":2}"));
	CHECK(b.faults.drop == 2);
	CHECK(!ask_ok("{\"cmd\":\"fault\",\"dev\":\"nic\"}"));
	CHECK(ask_ok("{\"cmd\":\"bad-config\",\"kind\":\"usable_too_big\"}"));
	CHECK(v.bad_config == VMEM_CFG_USABLE_TOO_BIG);
	CHECK(!ask_ok("{\"cmd\":\"bad-config\",\"kind\":\"nonsense\"}"));
	CHECK(ask_ok("{\"cmd\":\"bad-config\",\"kind\":\"none\"}"));
	CHECK(!ask_ok("not json"));
	CHECK(!ask_ok("[1,2]"));
	CHECK(!ask_ok("{\"cmd\":7}"));
	CHECK(!ask_ok("{\"cmd\":\"reboot-the-host\"}"));
	CHECK(!ask_ok(""));

	v.st.violations = 3;
	o = ask("{\"cmd\":\"stats\"}");
	CHECK(ok(o));
	CHECK(path_u64(o, "stats", "vmem", "requested_size") == 8 << 20);
	CHECK(path_u64(o, "stats", "vmem", "violations") == 3);
	CHECK(path_u64(o, "stats", "balloon", "target_pages") == 1000);
	json_object_put(o);

	vm.serial = &serial;
	serial_init(&serial, -1, 4, NULL, NULL);
	CHECK(ask_ok("{\"cmd\":\"console-input\",\"text\":\"go\\n\"}"));
	CHECK(serial.rx_len == 3 && serial.rx[0] == 'g' && serial.rx[2] == '\n');
	CHECK(!ask_ok("{\"cmd\":\"console-input\"}"));
	CHECK(!ask_ok("{\"cmd\":\"console-input\",\"text\":5}"));

	CHECK(ask_ok("{\"cmd\":\"quit\"}"));
	CHECK(vm.stopping && vm.exit_status == 0);
}
