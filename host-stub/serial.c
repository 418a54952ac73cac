// SPDX-License-Identifier: GPL-2.0
/*
 * 16550A UART model.  The transmitter is always idle (bytes leave at once),
 * so THRE is always set; the THRE interrupt is re-armed after each byte,
 * which is what keeps the 8250 driver's transmit path going.  Received
 * bytes (serial_input) raise the data-ready interrupt until read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/serial_reg.h>

#include "serial.h"

#define EXIT_MARKER	"VMDENSE-EXIT "

void serial_init(struct serial *s, int out_fd, uint32_t irq,
		 void (*set_irq)(void *, uint32_t, int), void *ctx)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->irq = irq;
	s->set_irq = set_irq;
	s->irq_ctx = ctx;
	s->loop_byte = -1;
	s->marker_status = -1;
}

/* Is a received byte waiting: the loopback one, or input? */
static bool rx_ready(const struct serial *s)
{
	return s->loop_byte >= 0 || s->rx_len;
}

static int pending_level(struct serial *s)
{
	if ((s->ier & UART_IER_THRI) && s->thri_pending)
		return 1;
	if ((s->ier & UART_IER_RDI) && rx_ready(s))
		return 1;
	return 0;
}

/* Drive the line; @pulse forces a new rising edge for a new event. */
static void update_irq(struct serial *s, int pulse)
{
	int level = pending_level(s);

	if (!s->set_irq)
		return;
	if (pulse && level && s->level)
		s->set_irq(s->irq_ctx, s->irq, 0);
	if (pulse || level != s->level)
		s->set_irq(s->irq_ctx, s->irq, level);
	s->level = level;
}

static void scan_marker(struct serial *s, uint8_t c)
{
	if (c != '\n') {
		if (c != '\r' && s->line_len < sizeof(s->line) - 1)
			s->line[s->line_len++] = c;
		return;
	}
	s->line[s->line_len] = 0;
	if (!strncmp(s->line, EXIT_MARKER, strlen(EXIT_MARKER)))
		s->marker_status = atoi(s->line + strlen(EXIT_MARKER)) & 255;
	else if (s->marker_status >= 0 && strstr(s->line, "reboot: "))
		s->final_line_seen = true;
	s->line_len = 0;
}

static void transmit(struct serial *s, uint8_t c)
{
	ssize_t n;

	if (s->mcr & UART_MCR_LOOP) {
		s->loop_byte = c;
		return;
	}
	s->bytes_out++;
	scan_marker(s, c);
	do {
		n = write(s->out_fd, &c, 1);
	} while (n < 0 && errno == EINTR);
}

static uint8_t msr(struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(m & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	/* loopback wires modem control outputs to status inputs */
	return ((m & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
	       ((m & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
	       ((m & UART_MCR_OUT1) ? UART_MSR_RI : 0) |
	       ((m & UART_MCR_OUT2) ? UART_MSR_DCD : 0);
}

uint8_t serial_in(struct serial *s, unsigned int port)
{
	uint8_t v = 0;
	bool dlab;

	pthread_mutex_lock(&s->lock);
	dlab = s->lcr & UART_LCR_DLAB;
	switch (port) {
	case UART_RX:
		if (dlab) {
			v = s->dll;
		} else if (s->loop_byte >= 0) {
			v = s->loop_byte;
			s->loop_byte = -1;
			update_irq(s, 0);
		} else if (s->rx_len) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
			s->rx_len--;
			update_irq(s, 0);
		}
		break;
	case UART_IER:
		v = dlab ? s->dlm : s->ier;
		break;
	case UART_IIR:
		if ((s->ier & UART_IER_RDI) && rx_ready(s)) {
			v = UART_IIR_RDI;
		} else if ((s->ier & UART_IER_THRI) && s->thri_pending) {
			v = UART_IIR_THRI;
			/* reading IIR acknowledges a THRE interrupt */
			s->thri_pending = false;
			update_irq(s, 0);
		} else {
			v = UART_IIR_NO_INT;
		}
		if (s->fcr & UART_FCR_ENABLE_FIFO)
			v |= 0xc0;
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT;
		if (rx_ready(s))
			v |= UART_LSR_DR;
		break;
	case UART_MSR:
		v = msr(s);
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return v;
}

void serial_out(struct serial *s, unsigned int port, uint8_t val)
{
	bool dlab;

	pthread_mutex_lock(&s->lock);
	dlab = s->lcr & UART_LCR_DLAB;
	switch (port) {
	case UART_TX:
		if (dlab) {
			s->dll = val;
			break;
		}
		transmit(s, val);
		s->thri_pending = true;
		update_irq(s, 1);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = val;
			break;
		}
		/* enabling THRE while the holding register is empty fires */
		if ((val & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
			s->thri_pending = true;
		s->ier = val & 0x0f;
		update_irq(s, 0);
		break;
	case UART_FCR:
		s->fcr = val & (UART_FCR_ENABLE_FIFO | 0xc0);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		s->mcr = val & 0x1f;
		break;
	case UART_SCR:
		s->scr = val;
		break;
	}
	pthread_mutex_unlock(&s->lock);
}

int serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	if (len > SERIAL_RX_FIFO - s->rx_len) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	for (i = 0; i < len; i++)
		s->rx[(s->rx_head + s->rx_len++) % SERIAL_RX_FIFO] = buf[i];
	if (len)
		update_irq(s, 1);
	pthread_mutex_unlock(&s->lock);
	return 0;
}
