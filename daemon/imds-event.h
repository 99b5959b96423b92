/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IMDS client on sd-event: an io source per descriptor curl uses, one timer for curl's
 * timeouts and the client's retry deadlines (struct imds_loop). */
#pragma once

#include <systemd/sd-event.h>

struct imds_client;
struct imds_event;

/* Binds c to e until imds_event_free(); c is borrowed and must outlive the binding. */
int imds_event_new(sd_event *e, struct imds_client *c, struct imds_event **ret);
/* Unbinds the client and drops the sources. */
struct imds_event *imds_event_free(struct imds_event *x);
