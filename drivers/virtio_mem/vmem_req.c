// SPDX-License-Identifier: GPL-2.0
/*
 * vmdense virtio-mem: requests to the device.
 *
 * One request is in flight at a time; its buffers live in struct vmem_dev
 * (never on the stack, which may not be DMA-able). Every answer is
 * classified and counted; answers the protocol does not allow are
 * refused as VMEM_BAD, so that callers treat the request as failed and
 * keep their pages. A device that does not answer within
 * request_timeout_ms is reset and no longer used: requests run under
 * locks that memory hotplug (the memory notifier) waits for.
 */
#include <linux/scatterlist.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

#include "vmem.h"

/* After this many nonsense answers in a row we stop using the device. */
#define VMEM_BAD_LIMIT		16
/* How long to wait before saying that the device does not answer. */
#define VMEM_ANSWER_WARN_SECS	10

void vmem_vq_done(struct virtqueue *vq)
{
	struct vmem_dev *vm = vq->vdev->priv;

	wake_up(&vm->resp_wait);
}

static bool vmem_answer_ready(struct vmem_dev *vm, unsigned int *len)
{
	return !!virtqueue_get_buf(vm->vq, len);
}

/*
 * The device does not answer: reset it, which hands our buffers back (a
 * device that is reset does not touch them), and use it no more. Memory
 * plugged stays plugged and in use: a reset changes no block's state.
 */
static void vmem_give_up(struct vmem_dev *vm)
{
	atomic64_inc(&vm->stats.timeouts);
	vm->broken = true;
	dev_err(&vm->vdev->dev,
		"no answer to request type %u in %u ms: device reset, no longer used\n",
		virtio16_to_cpu(vm->vdev, vm->req.type),
		READ_ONCE(vm->request_timeout_ms));
	virtio_reset_device(vm->vdev);
}

/*
 * Send vm->req and wait for the answer, for request_timeout_ms at most.
 * Returns the raw response type, or a negative errno when the request
 * could not be sent, got no answer in time, or the answer is too short
 * to read.
 */
static int vmem_exchange(struct vmem_dev *vm, unsigned int min_len)
{
	struct scatterlist out, in, *sgs[2] = { &out, &in };
	unsigned long left = msecs_to_jiffies(READ_ONCE(vm->request_timeout_ms));
	unsigned int len = 0;
	long got;
	int rc;

	memset(&vm->resp, 0xff, sizeof(vm->resp));
	sg_init_one(&out, &vm->req, sizeof(vm->req));
	sg_init_one(&in, &vm->resp, sizeof(vm->resp));
	rc = virtqueue_add_sgs(vm->vq, sgs, 1, 1, vm, GFP_KERNEL);
	if (rc)
		return rc;
	virtqueue_kick(vm->vq);

	/* a word in the log every VMEM_ANSWER_WARN_SECS while we wait */
	for (;;) {
		got = wait_event_timeout(vm->resp_wait,
					 vmem_answer_ready(vm, &len),
					 min(left, (unsigned long)
					     VMEM_ANSWER_WARN_SECS * HZ));
		if (got)
			break;
		left -= min(left, (unsigned long)VMEM_ANSWER_WARN_SECS * HZ);
		if (!left) {
			vmem_give_up(vm);
			return -ETIMEDOUT;
		}
		dev_warn_ratelimited(&vm->vdev->dev,
				     "no answer to request type %u for %u s\n",
				     virtio16_to_cpu(vm->vdev, vm->req.type),
				     VMEM_ANSWER_WARN_SECS);
	}

	if (len < min_len)
		return -EPROTO;
	return virtio16_to_cpu(vm->vdev, vm->resp.type);
}

static enum vmem_answer vmem_refuse(struct vmem_dev *vm, int type, int raw)
{
	atomic64_inc(&vm->stats.bad_responses);
	dev_warn_ratelimited(&vm->vdev->dev,
			     "refusing answer %d to request type %d\n", raw,
			     type);
	if (++vm->bad_in_a_row >= VMEM_BAD_LIMIT && !vm->broken) {
		vm->broken = true;
		dev_err(&vm->vdev->dev,
			"%u nonsense answers in a row: no longer using the device\n",
			vm->bad_in_a_row);
	}
	return VMEM_BAD;
}

static enum vmem_answer vmem_request(struct vmem_dev *vm, u16 type, u64 addr,
				     u64 size, u16 *state)
{
	unsigned int min_len = sizeof(vm->resp.type);
	u64 nb = size / vm->block_size;
	enum vmem_answer answer;
	int raw;

	/* Callers split requests; a u16 block count is the protocol's limit. */
	if (WARN_ON_ONCE(nb > U16_MAX))
		return VMEM_BAD;
	if (vm->broken)
		return VMEM_BAD;

	mutex_lock(&vm->req_lock);
	memset(&vm->req, 0, sizeof(vm->req));
	vm->req.type = cpu_to_virtio16(vm->vdev, type);
	/* plug, unplug and state requests share one layout */
	vm->req.u.plug.addr = cpu_to_virtio64(vm->vdev, addr);
	vm->req.u.plug.nb_blocks = cpu_to_virtio16(vm->vdev, nb);
	if (type == VIRTIO_MEM_REQ_STATE)
		min_len = offsetofend(struct virtio_mem_resp, u.state.state);

	raw = vmem_exchange(vm, min_len);
	if (raw == -ETIMEDOUT) {
		answer = VMEM_BAD;
		goto out;
	}
	if (!vmem_answer_allowed(type, raw)) {
		answer = vmem_refuse(vm, type, raw);
		goto out;
	}

	answer = raw;
	if (answer == VMEM_ACK && state) {
		*state = virtio16_to_cpu(vm->vdev, vm->resp.u.state.state);
		if (*state > VIRTIO_MEM_STATE_MIXED) {
			answer = vmem_refuse(vm, type, *state);
			goto out;
		}
	}
	vm->bad_in_a_row = 0;

	switch (answer) {
	case VMEM_ACK:
		atomic64_inc(&vm->stats.acks);
		break;
	case VMEM_NACK:
		atomic64_inc(&vm->stats.nacks);
		break;
	case VMEM_BUSY:
		atomic64_inc(&vm->stats.busy);
		break;
	default:
		atomic64_inc(&vm->stats.errors);
		dev_warn_ratelimited(&vm->vdev->dev,
				     "request %u at 0x%llx+0x%llx: ERROR\n",
				     type, addr, size);
		break;
	}
out:
	mutex_unlock(&vm->req_lock);
	return answer;
}

enum vmem_answer vmem_plug(struct vmem_dev *vm, u64 addr, u64 size)
{
	atomic64_inc(&vm->stats.plug_requests);
	return vmem_request(vm, VIRTIO_MEM_REQ_PLUG, addr, size, NULL);
}

enum vmem_answer vmem_unplug(struct vmem_dev *vm, u64 addr, u64 size)
{
	atomic64_inc(&vm->stats.unplug_requests);
	return vmem_request(vm, VIRTIO_MEM_REQ_UNPLUG, addr, size, NULL);
}

enum vmem_answer vmem_unplug_all(struct vmem_dev *vm)
{
	atomic64_inc(&vm->stats.unplug_all_requests);
	return vmem_request(vm, VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0, NULL);
}

enum vmem_answer vmem_state(struct vmem_dev *vm, u64 addr, u64 size,
			    u16 *state)
{
	atomic64_inc(&vm->stats.state_requests);
	return vmem_request(vm, VIRTIO_MEM_REQ_STATE, addr, size, state);
}
