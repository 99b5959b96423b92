/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ec2net-defs.h"
#include "numbering.h"

bool numbering_valid(uint32_t card, uint32_t device)
{
	return card <= EC2NET_CARD_MAX && device <= EC2NET_DEVICE_MAX;
}

uint32_t numbering_table(uint32_t card, uint32_t device)
{
	return EC2NET_TABLE_BASE + EC2NET_CARD_STRIDE * card + device;
}

uint32_t numbering_priority(uint32_t card, uint32_t device)
{
	return numbering_table(card, device);
}

uint32_t numbering_metric(uint32_t card, uint32_t device)
{
	return EC2NET_METRIC_BASE + EC2NET_CARD_STRIDE * card + device;
}

bool numbering_is_eni_table(uint32_t table)
{
	if (table < EC2NET_TABLE_BASE)
		return false;
	uint32_t rel = table - EC2NET_TABLE_BASE;
	return numbering_valid(rel / EC2NET_CARD_STRIDE, rel % EC2NET_CARD_STRIDE);
}
