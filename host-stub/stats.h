/* SPDX-License-Identifier: GPL-2.0 */
/* Statistics of the whole VM as one JSON object (control socket, exit). */
#ifndef HOST_STUB_STATS_H
#define HOST_STUB_STATS_H

struct vm;
struct json_object;

/* Caller owns the result (json_object_put). */
struct json_object *stats_json(struct vm *vm);

#endif
