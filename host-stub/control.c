// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <json-c/json.h>

#include "balloon.h"
#include "control.h"
#include "hyperv.h"
#include "serial.h"
#include "stats.h"
#include "vm.h"
#include "vmem.h"

#define MAX_CLIENTS	4
#define LINE_MAX_LEN	4096

struct client {
	int fd;
	char buf[LINE_MAX_LEN];
	size_t len;
};

static struct {
	struct vm *vm;
	int listen_fd;
	struct client cl[MAX_CLIENTS];
	pthread_t thread;
	bool running;
} ctl = { .listen_fd = -1 };

static char *reply(struct json_object *o)
{
	char *s = strdup(json_object_to_json_string_ext(o,
						      JSON_C_TO_STRING_PLAIN));

	json_object_put(o);
	return s;
}

static char *error_reply(const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return reply(o);
}

static struct json_object *ok_obj(void)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

/* A non-negative integer member; false if absent or of the wrong type. */
static bool get_u64(struct json_object *req, const char *key, uint64_t *v)
{
	struct json_object *m;

	if (!json_object_object_get_ex(req, key, &m) ||
	    !json_object_is_type(m, json_type_int))
		return false;
	if (json_object_get_int64(m) < 0)
		return false;
	*v = json_object_get_uint64(m);
	return true;
}

/* A host that stops making progress on heat hints (see struct hyperv). */
static char *hyperv_faults(struct hyperv *hv, struct json_object *req)
{
	uint64_t v;

	pthread_mutex_lock(&hv->lock);
	if (get_u64(req, "stall", &v))
		hv->stall_calls = v > UINT32_MAX ? UINT32_MAX : v;
	if (get_u64(req, "stall_ms", &v))
		hv->stall_ms = v > 10000 ? 10000 : v;
	pthread_mutex_unlock(&hv->lock);
	return reply(ok_obj());
}

static char *set_faults(struct vm *vm, struct json_object *req)
{
	const char *dev = NULL;
	struct json_object *m;
	struct virtio_dev *d;
	struct faults *f;
	uint64_t v;

	if (json_object_object_get_ex(req, "dev", &m))
		dev = json_object_get_string(m);
	if (dev && !strcmp(dev, "hyperv") && vm->hv)
		return hyperv_faults(vm->hv, req);
	if (dev && !strcmp(dev, "vmem") && vm->vmem) {
		d = &vm->vmem->dev;
		f = &vm->vmem->faults;
	} else if (dev && !strcmp(dev, "balloon") && vm->balloon) {
		d = &vm->balloon->dev;
		f = &vm->balloon->faults;
	} else {
		return error_reply("dev must name a present device: vmem, balloon or hyperv");
	}
	pthread_mutex_lock(&d->lock);
	if (get_u64(req, "nack", &v))
		f->nack = v;
	if (get_u64(req, "busy", &v))
		f->busy = v;
	if (get_u64(req, "error", &v))
		f->error = v;
	if (get_u64(req, "drop", &v))
		f->drop = v;
	if (get_u64(req, "delay_ms", &v))
		f->delay_ms = v;
	pthread_mutex_unlock(&d->lock);
	return reply(ok_obj());
}

static char *bad_config(struct vm *vm, struct json_object *req)
{
	struct json_object *m;
	const char *kind;
	int i;

	if (!vm->vmem)
		return error_reply("no virtio-mem device");
	if (!json_object_object_get_ex(req, "kind", &m))
		return error_reply("kind missing");
	kind = json_object_get_string(m);
	for (i = 0; i < VMEM_CFG_NR; i++) {
		if (strcmp(kind, vmem_bad_config_names[i]))
			continue;
		pthread_mutex_lock(&vm->vmem->dev.lock);
		vm->vmem->bad_config = i;
		virtio_config_changed(&vm->vmem->dev);
		pthread_mutex_unlock(&vm->vmem->dev.lock);
		return reply(ok_obj());
	}
	return error_reply("unknown kind");
}

/* Bytes for the guest to read from its serial console. */
static char *console_input(struct vm *vm, struct json_object *req)
{
	struct json_object *m;
	const char *text;

	if (!json_object_object_get_ex(req, "text", &m) ||
	    !json_object_is_type(m, json_type_string))
		return error_reply("text missing");
	text = json_object_get_string(m);
	if (!vm->serial ||
	    serial_input(vm->serial, (const uint8_t *)text, strlen(text)) < 0)
		return error_reply("no room in the serial receive FIFO");
	return reply(ok_obj());
}

char *control_handle(struct vm *vm, const char *line)
{
	struct json_object *req = json_tokener_parse(line), *m;
	const char *cmd;
	char *out;
	uint64_t v;

	if (!req || !json_object_is_type(req, json_type_object)) {
		json_object_put(req);
		return error_reply("not a JSON object");
	}
	if (!json_object_object_get_ex(req, "cmd", &m) ||
	    !json_object_is_type(m, json_type_string)) {
		json_object_put(req);
		return error_reply("cmd missing");
	}
	cmd = json_object_get_string(m);
	if (!strcmp(cmd, "stats")) {
		struct json_object *o = ok_obj();

		json_object_object_add(o, "stats", stats_json(vm));
		out = reply(o);
	} else if (!strcmp(cmd, "vmem-set-requested")) {
		if (!vm->vmem) {
			out = error_reply("no virtio-mem device");
		} else if (!get_u64(req, "size", &v)) {
			out = error_reply("size missing");
		} else {
			pthread_mutex_lock(&vm->vmem->dev.lock);
			vmem_set_requested(vm->vmem, v);
			pthread_mutex_unlock(&vm->vmem->dev.lock);
			out = reply(ok_obj());
		}
	} else if (!strcmp(cmd, "balloon-set-target")) {
		if (!vm->balloon) {
			out = error_reply("no balloon device");
		} else if (!get_u64(req, "pages", &v) || v > UINT32_MAX) {
			out = error_reply("pages missing or too large");
		} else {
			pthread_mutex_lock(&vm->balloon->dev.lock);
			balloon_set_target(vm->balloon, v);
			pthread_mutex_unlock(&vm->balloon->dev.lock);
			out = reply(ok_obj());
		}
	} else if (!strcmp(cmd, "balloon-request-stats")) {
		if (!vm->balloon) {
			out = error_reply("no balloon device");
		} else {
			pthread_mutex_lock(&vm->balloon->dev.lock);
			balloon_request_stats(vm->balloon);
			pthread_mutex_unlock(&vm->balloon->dev.lock);
			out = reply(ok_obj());
		}
	} else if (!strcmp(cmd, "fault")) {
		out = set_faults(vm, req);
	} else if (!strcmp(cmd, "bad-config")) {
		out = bad_config(vm, req);
	} else if (!strcmp(cmd, "console-input")) {
		out = console_input(vm, req);
	} else if (!strcmp(cmd, "quit")) {
		vm_stop(vm, 0, "quit from control socket");
		out = reply(ok_obj());
	} else {
		out = error_reply("unknown cmd");
	}
	json_object_put(req);
	return out;
}

static void flush_acks(struct vm *vm)
{
	if (vm->vmem) {
		pthread_mutex_lock(&vm->vmem->dev.lock);
		ack_flush(&vm->vmem->dev, &vm->vmem->acks, 0);
		pthread_mutex_unlock(&vm->vmem->dev.lock);
	}
	if (vm->balloon) {
		pthread_mutex_lock(&vm->balloon->dev.lock);
		ack_flush(&vm->balloon->dev, &vm->balloon->acks, 0);
		pthread_mutex_unlock(&vm->balloon->dev.lock);
	}
}

static void client_input(struct client *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	char *nl;

	if (n <= 0) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	c->len += n;
	while ((nl = memchr(c->buf, '\n', c->len))) {
		char *out;

		*nl = 0;
		out = control_handle(ctl.vm, c->buf);
		if (out) {
			/* short replies on a local socket: best effort */
			if (write(c->fd, out, strlen(out)) < 0 ||
			    write(c->fd, "\n", 1) < 0) {
				free(out);
				close(c->fd);
				c->fd = -1;
				return;
			}
			free(out);
		}
		c->len -= nl + 1 - c->buf;
		memmove(c->buf, nl + 1, c->len);
	}
	if (c->len == sizeof(c->buf)) {	/* a line too long: drop it */
		close(c->fd);
		c->fd = -1;
	}
}

static void *control_thread(void *arg)
{
	struct pollfd p[MAX_CLIENTS + 1];
	int i, n;

	(void)arg;
	while (!vm_stopping(ctl.vm)) {
		n = 0;
		if (ctl.listen_fd >= 0) {
			p[n].fd = ctl.listen_fd;
			p[n++].events = POLLIN;
		}
		for (i = 0; i < MAX_CLIENTS; i++) {
			p[n].fd = ctl.cl[i].fd;
			p[n++].events = POLLIN;
		}
		/* 10 ms ticks: the resolution of delayed acks */
		if (poll(p, n, 10) < 0 && errno != EINTR)
			break;
		flush_acks(ctl.vm);
		i = 0;
		if (ctl.listen_fd >= 0) {
			if (p[0].revents & POLLIN) {
				int fd = accept(ctl.listen_fd, NULL, NULL);
				int k;

				for (k = 0; fd >= 0 && k < MAX_CLIENTS; k++) {
					if (ctl.cl[k].fd < 0) {
						ctl.cl[k].fd = fd;
						ctl.cl[k].len = 0;
						fd = -1;
					}
				}
				if (fd >= 0)
					close(fd);
			}
			i = 1;
		}
		for (int k = 0; k < MAX_CLIENTS; k++, i++)
			if (ctl.cl[k].fd >= 0 &&
			    (p[i].revents & (POLLIN | POLLHUP)))
				client_input(&ctl.cl[k]);
	}
	return NULL;
}

int control_start(struct vm *vm, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int i;

	ctl.vm = vm;
	for (i = 0; i < MAX_CLIENTS; i++)
		ctl.cl[i].fd = -1;
	if (path) {
		if (strlen(path) >= sizeof(a.sun_path)) {
			fprintf(stderr, "host-stub: socket path too long\n");
			return -1;
		}
		memcpy(a.sun_path, path, strlen(path) + 1);
		unlink(path);
		ctl.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (ctl.listen_fd < 0 ||
		    bind(ctl.listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    listen(ctl.listen_fd, 4) < 0) {
			fprintf(stderr, "host-stub: control socket %s: %s\n",
				path, strerror(errno));
			return -1;
		}
	}
	if (pthread_create(&ctl.thread, NULL, control_thread, NULL))
		return -1;
	ctl.running = true;
	return 0;
}

void control_stop(void)
{
	int i;

	if (ctl.running)
		pthread_join(ctl.thread, NULL);
	ctl.running = false;
	for (i = 0; i < MAX_CLIENTS; i++)
		if (ctl.cl[i].fd >= 0)
			close(ctl.cl[i].fd);
	if (ctl.listen_fd >= 0)
		close(ctl.listen_fd);
}
