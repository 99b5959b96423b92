/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The only place that computes table, rule priority and metric numbers (design.md §3). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Whether (card, device) fits the numbering without colliding with another ENI's table. */
bool numbering_valid(uint32_t card, uint32_t device);
/* 10000 + 100·card + device */
uint32_t numbering_table(uint32_t card, uint32_t device);
/* Rule priority of the ENI's source rules: equal to its table. */
uint32_t numbering_priority(uint32_t card, uint32_t device);
/* Metric of the ENI's prefix route in the main table: 512 + 100·card + device. */
uint32_t numbering_metric(uint32_t card, uint32_t device);
/* Whether a table number is one of ours (10000..19999 with a valid card/device). */
bool numbering_is_eni_table(uint32_t table);
