/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A 16550A UART at the COM1 ports, output only: what the guest transmits
 * goes to a file descriptor.  Enough of the register model for Linux's 8250
 * driver to detect a 16550A with FIFOs and to run on THRE interrupts.
 */
#ifndef HOST_STUB_SERIAL_H
#define HOST_STUB_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SERIAL_BASE	0x3f8
#define SERIAL_PORTS	8

struct serial {
	pthread_mutex_t lock;
	int out_fd;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thri_pending;
	int level;
	void (*set_irq)(void *ctx, uint32_t irq, int level);
	void *irq_ctx;
	uint32_t irq;
	/* loopback byte for the 8250 self test */
	int loop_byte;
	/* exit marker: "VMDENSE-EXIT <n>" on a line of its own */
	char line[128];
	unsigned int line_len;
	int marker_status;	/* -1 until seen */
	/*
	 * The kernel's last words ("reboot: Power down", "reboot: System
	 * halted") after the marker: without ACPI a powered-off guest just
	 * halts, so this is how we know it is done.
	 */
	bool final_line_seen;
	uint64_t bytes_out;
};

void serial_init(struct serial *s, int out_fd, uint32_t irq,
		 void (*set_irq)(void *, uint32_t, int), void *ctx);
uint8_t serial_in(struct serial *s, unsigned int port);
void serial_out(struct serial *s, unsigned int port, uint8_t val);

#endif
