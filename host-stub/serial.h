/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A 16550A UART at the COM1 ports: what the guest transmits goes to a file
 * descriptor; what the control socket sends (serial_input) waits in the
 * receive FIFO.  Enough of the register model for Linux's 8250 driver to
 * detect a 16550A with FIFOs and to run on THRE and receive interrupts.
 */
#ifndef HOST_STUB_SERIAL_H
#define HOST_STUB_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_BASE	0x3f8
#define SERIAL_PORTS	8
/* the receive FIFO: input waits here until the guest reads it */
#define SERIAL_RX_FIFO	256

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
	/* received bytes, oldest at rx_head */
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned int rx_head, rx_len;
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

/*
 * Queue @len bytes for the guest to receive; all or nothing. Returns 0, or
 * -1 when the FIFO has no room for them.
 */
int serial_input(struct serial *s, const uint8_t *buf, size_t len);

#endif
