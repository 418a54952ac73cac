// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <sys/resource.h>
#include <json-c/json.h>

#include "balloon.h"
#include "hyperv.h"
#include "serial.h"
#include "stats.h"
#include "vm.h"
#include "vmem.h"

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static struct json_object *vmem_json(struct vmem *v)
{
	static const char *const req[] = { "plug", "unplug", "unplug_all",
					   "state" };
	static const char *const resp[] = { "ack", "nack", "busy", "error" };
	struct json_object *o = json_object_new_object();
	struct json_object *r = json_object_new_object();
	struct json_object *a = json_object_new_object();
	int i;

	pthread_mutex_lock(&v->dev.lock);
	add_u64(o, "region_size", v->region_size);
	add_u64(o, "block_size", v->block_size);
	add_u64(o, "requested_size", v->requested);
	add_u64(o, "plugged_size", v->plugged);
	add_u64(o, "memfd_allocated_bytes", gm_fd_allocated(v->fd));
	for (i = 0; i < 4; i++) {
		add_u64(r, req[i], v->st.req[i]);
		add_u64(a, resp[i], v->st.resp[i]);
	}
	json_object_object_add(o, "requests", r);
	json_object_object_add(o, "responses", a);
	add_u64(o, "bad_requests", v->st.bad_requests);
	add_u64(o, "violations", v->st.violations);
	add_u64(o, "violation_reads", v->st.violation_reads);
	add_u64(o, "violation_writes", v->st.violation_writes);
	add_u64(o, "last_violation_gpa", v->st.last_violation_gpa);
	add_u64(o, "discarded_bytes", v->st.discarded_bytes);
	add_u64(o, "slot_errors", v->st.slot_errors);
	add_u64(o, "faults_injected", v->faults.injected);
	add_u64(o, "transport_errors", v->dev.broken_events);
	json_object_object_add(o, "bad_config",
			       json_object_new_string(vmem_bad_config_names[v->bad_config]));
	pthread_mutex_unlock(&v->dev.lock);
	return o;
}

static struct json_object *balloon_json(struct balloon *b)
{
	struct json_object *o = json_object_new_object();
	struct json_object *g = json_object_new_object();
	char tag[8];
	int i;

	pthread_mutex_lock(&b->dev.lock);
	add_u64(o, "target_pages", b->target_pages);
	add_u64(o, "actual_pages", b->actual_pages);
	add_u64(o, "inflated_pages", b->st.inflated_pages);
	add_u64(o, "deflated_pages", b->st.deflated_pages);
	add_u64(o, "reported_bytes", b->st.reported_bytes);
	add_u64(o, "reports", b->st.reports);
	add_u64(o, "discarded_bytes", b->st.discarded_bytes);
	add_u64(o, "bad_pfns", b->st.bad_pfns);
	add_u64(o, "bad_buffers", b->st.bad_buffers);
	add_u64(o, "stats_updates", b->st.stats_updates);
	add_u64(o, "faults_injected", b->faults.injected);
	add_u64(o, "transport_errors", b->dev.broken_events);
	for (i = 0; i < BALLOON_NR_STATS; i++) {
		if (!b->guest_stats_valid[i])
			continue;
		snprintf(tag, sizeof(tag), "%d", i);
		add_u64(g, tag, b->guest_stats[i]);
	}
	json_object_object_add(o, "guest_stats", g);
	pthread_mutex_unlock(&b->dev.lock);
	return o;
}

static struct json_object *hyperv_json(struct hyperv *hv)
{
	struct json_object *o = json_object_new_object();

	pthread_mutex_lock(&hv->lock);
	add_u64(o, "query_capabilities", hv->calls[1]);
	add_u64(o, "get_boot_zeroed_memory", hv->calls[2]);
	add_u64(o, "memory_heat_hint", hv->calls[3]);
	add_u64(o, "other_calls", hv->calls[0]);
	add_u64(o, "cold_pages", hv->cold_pages);
	add_u64(o, "hot_pages", hv->hot_pages);
	add_u64(o, "hot_pages_mapped", hv->hot_mapped_pages);
	add_u64(o, "hot_map_errors", hv->hot_map_errors);
	add_u64(o, "cold_discard_pages", hv->discard_pages);
	add_u64(o, "failed_calls", hv->bad_calls);
	add_u64(o, "zeroed_ranges_reported", hv->zeroed_ranges_reported);
	add_u64(o, "stalled_calls", hv->stalled);
	pthread_mutex_unlock(&hv->lock);
	return o;
}

/*
 * KVM's own counters summed over the vCPUs, where KVM offers them: the
 * exits and the stage-2 page faults a guest's memory accesses cost.
 */
static void add_kvm_counters(struct json_object *o, struct vm *vm)
{
	enum kvm_counter k;
	int i;

	for (k = 0; k < KVM_NR_COUNTERS; k++) {
		uint64_t sum = 0;
		bool seen = false;

		for (i = 0; i < vm->nr_vcpus; i++) {
			int64_t v = kvm_counter_read(&vm->vcpu[i].kvm_stats, k);

			if (v >= 0) {
				sum += v;
				seen = true;
			}
		}
		if (seen)
			add_u64(o, kvm_counter_name(k), sum);
	}
}

struct json_object *stats_json(struct vm *vm)
{
	struct json_object *o = json_object_new_object();
	struct rusage ru;

	add_u64(o, "ram_size", vm->ram_size);
	add_u64(o, "ram_allocated_bytes", gm_fd_allocated(vm->ram_fd));
	/*
	 * Page faults of this process, vCPU threads included: KVM faults
	 * guest memory in through our mappings, so a guest's first touch of
	 * a page the host has not backed yet shows here.
	 */
	if (!getrusage(RUSAGE_SELF, &ru)) {
		add_u64(o, "host_minor_faults", ru.ru_minflt);
		add_u64(o, "host_major_faults", ru.ru_majflt);
	}
	add_kvm_counters(o, vm);
	if (vm->serial)
		add_u64(o, "console_bytes", vm->serial->bytes_out);
	if (vm->vmem)
		json_object_object_add(o, "vmem", vmem_json(vm->vmem));
	if (vm->balloon)
		json_object_object_add(o, "balloon",
				       balloon_json(vm->balloon));
	if (vm->hv)
		json_object_object_add(o, "hyperv", hyperv_json(vm->hv));
	return o;
}
