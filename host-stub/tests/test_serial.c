// SPDX-License-Identifier: GPL-2.0
/* The 16550A model: what Linux's 8250 probe and transmit path rely on. */
#include <string.h>
#include <unistd.h>
#include <linux/serial_reg.h>

#include "serial.h"
#include "test.h"

static int level, edges;

static void fake_irq(void *ctx, uint32_t irq, int l)
{
	(void)ctx;
	(void)irq;
	if (l && !level)
		edges++;
	level = l;
}

static void say(struct serial *s, const char *text)
{
	while (*text)
		serial_out(s, UART_TX, *text++);
}

void test_serial(void)
{
	static struct serial s;
	char buf[64];
	int p[2];
	ssize_t n;

	CHECK(pipe(p) == 0);
	serial_init(&s, p[1], 4, fake_irq, NULL);
	/* divisor latch and scratch */
	serial_out(&s, UART_LCR, UART_LCR_DLAB);
	serial_out(&s, UART_DLL, 12);
	serial_out(&s, UART_DLM, 1);
	CHECK(serial_in(&s, UART_DLL) == 12 && serial_in(&s, UART_DLM) == 1);
	serial_out(&s, UART_LCR, UART_LCR_WLEN8);
	serial_out(&s, UART_IER, 0x0f);
	CHECK(serial_in(&s, UART_IER) == 0x0f);
	serial_out(&s, UART_IER, 0);
	serial_out(&s, UART_SCR, 0xa5);
	CHECK(serial_in(&s, UART_SCR) == 0xa5);
	/* FIFO detection: IIR bits 6-7 once FIFOs are on */
	serial_out(&s, UART_FCR, UART_FCR_ENABLE_FIFO);
	CHECK((serial_in(&s, UART_IIR) & 0xc0) == 0xc0);
	/* loopback: modem outputs show as inputs, a byte comes back */
	serial_out(&s, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	CHECK((serial_in(&s, UART_MSR) & 0xf0) ==
	      (UART_MSR_DCD | UART_MSR_CTS));
	serial_out(&s, UART_TX, 'x');
	CHECK(serial_in(&s, UART_LSR) & UART_LSR_DR);
	CHECK(serial_in(&s, UART_RX) == 'x');
	CHECK(!(serial_in(&s, UART_LSR) & UART_LSR_DR));
	serial_out(&s, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
	CHECK((serial_in(&s, UART_MSR) & 0xb0) == 0xb0);
	CHECK(s.bytes_out == 0);	/* loopback bytes never left */

	/* THRE interrupt: fires when enabled, cleared by reading IIR */
	edges = 0;
	serial_out(&s, UART_IER, UART_IER_THRI);
	CHECK(level == 1 && edges == 1);
	CHECK((serial_in(&s, UART_IIR) & 0x0f) == UART_IIR_THRI);
	CHECK(level == 0);
	CHECK((serial_in(&s, UART_IIR) & 0x0f) == UART_IIR_NO_INT);
	/* each byte sent re-arms it with a new edge */
	say(&s, "ab");
	CHECK(edges == 3 && level == 1);
	n = read(p[0], buf, sizeof(buf));
	CHECK(n == 2 && !memcmp(buf, "ab", 2));

	/* exit marker, then the kernel's last line */
	say(&s, "\r\nVMDENSE-EXIT 3\r\n");
	CHECK(s.marker_status == 3 && !s.final_line_seen);
	say(&s, "reboot: Power down\r\n");
	CHECK(s.final_line_seen);
	/* a line longer than the buffer is cut, not overflowed */
	for (int i = 0; i < 300; i++)
		serial_out(&s, UART_TX, 'z');
	serial_out(&s, UART_TX, '\n');
	CHECK(s.marker_status == 3);

	/* input: data ready and its interrupt until the last byte is read */
	serial_out(&s, UART_IER, UART_IER_RDI);
	CHECK(level == 0 && !(serial_in(&s, UART_LSR) & UART_LSR_DR));
	edges = 0;
	CHECK(serial_input(&s, (const uint8_t *)"go\n", 3) == 0);
	CHECK(level == 1 && edges == 1);
	CHECK((serial_in(&s, UART_IIR) & 0x0f) == UART_IIR_RDI);
	CHECK(serial_in(&s, UART_LSR) & UART_LSR_DR);
	CHECK(serial_in(&s, UART_RX) == 'g' && serial_in(&s, UART_RX) == 'o');
	CHECK(level == 1);
	CHECK(serial_in(&s, UART_RX) == '\n');
	CHECK(level == 0 && !(serial_in(&s, UART_LSR) & UART_LSR_DR));
	CHECK((serial_in(&s, UART_IIR) & 0x0f) == UART_IIR_NO_INT);
	CHECK(serial_in(&s, UART_RX) == 0);	/* empty reads 0 */
	/* all or nothing: what does not fit is refused whole */
	memset(buf, 'q', sizeof(buf));
	for (int i = 0; i < SERIAL_RX_FIFO / 64; i++)
		CHECK(serial_input(&s, (const uint8_t *)buf, 64) == 0);
	CHECK(serial_input(&s, (const uint8_t *)"x", 1) == -1);
	CHECK(s.rx_len == SERIAL_RX_FIFO);
	CHECK(serial_in(&s, UART_RX) == 'q');
	/* the ring wraps: the byte after 255 queued ones is read last */
	CHECK(serial_input(&s, (const uint8_t *)"w", 1) == 0);
	for (int i = 0; i < SERIAL_RX_FIFO - 1; i++)
		CHECK(serial_in(&s, UART_RX) == 'q');
	CHECK(serial_in(&s, UART_RX) == 'w' && s.rx_len == 0);
	close(p[0]);
	close(p[1]);
}
