/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Control socket: a unix stream socket speaking JSON lines.  One request
 * object per line, one reply object per line, e.g.
 *   {"cmd": "stats"}
 *   {"cmd": "vmem-set-requested", "size": 536870912}
 *   {"cmd": "balloon-set-target", "pages": 1024}
 *   {"cmd": "fault", "dev": "vmem", "nack": 2, "delay_ms": 100}
 *   {"cmd": "bad-config", "kind": "block_not_pow2"}
 * The same thread releases delayed acknowledgements when they fall due.
 */
#ifndef HOST_STUB_CONTROL_H
#define HOST_STUB_CONTROL_H

struct vm;

/* Start the control thread; @path NULL: only the ack timer runs. */
int control_start(struct vm *vm, const char *path);
void control_stop(void);

/* Handle one request line; returns a malloc'ed reply line (no newline). */
char *control_handle(struct vm *vm, const char *line);

#endif
