/*
 * libztp — compiled policy index (private to the policy module).
 * SPDX-License-Identifier: Apache-2.0
 *
 * A policy compiles into one trie over topic levels. Every resource of every
 * statement is a path from the root; each level of the path is a literal,
 * `+`, `#` or a variable (`${device}`, `${tenant}`, `${client_id}`) that is
 * resolved against the identity of each request. A node where a resource
 * ends records, per (effect, action), the lowest index of a statement that
 * ends there. Literal children sit in an open-addressing hash table, so a
 * decision costs O(topic levels) whatever the number of statements; equal
 * subtrees are stored once, so rules repeated per tenant cost one table
 * slot per tenant.
 */
#ifndef ZTP_POLICY_INDEX_H
#define ZTP_POLICY_INDEX_H

#include "core/internal.h"

#define ZTP__PX_NACT 4 /* connect, publish, subscribe, receive */
#define ZTP__PX_ALLOW 0
#define ZTP__PX_DENY 1
#define ZTP__PX_MAX_LEVELS 64 /* topic levels in one resource */
#define ZTP__PX_NONE UINT32_MAX
#define ZTP__PX_MAX_TOPIC 65535u /* bytes in a topic name or filter */
/* Levels of a request that are split out: one more than the deepest
 * resource, so that "the topic goes on below this resource" is still seen.
 * Further levels are validated and counted but cannot change a decision. */
#define ZTP__PX_TOPIC_LEVELS (ZTP__PX_MAX_LEVELS + 1)

enum { ZTP__VAR_DEVICE = 0, ZTP__VAR_TENANT, ZTP__VAR_CLIENT, ZTP__VAR_COUNT };

typedef struct ztp__bnode ztp__bnode;

typedef struct ztp__pindex {
	/* while resources are added: the trie being built (NULL once
	 * compiled) */
	ztp__bnode *build;
	/* once compiled by ztp__pindex_finish(): the whole index in one
	 * read-only block, identical subtrees stored once (see index.c) */
	unsigned char *arena;
	void *block;   /* the allocation arena lies in */
	uint32_t root; /* offset of the root node in arena */
	uint32_t base; /* added to the root's statement indexes */
	/* actions with a resource of each effect anywhere below the root
	 * other than under a first-level literal starting with '$' */
	uint8_t root_nodollar[2];
	size_t nodes; /* distinct nodes once compiled */
	size_t bytes; /* size of arena */
} ztp__pindex;

/* The identity and action of one request. Values are NULL when unknown. */
typedef struct ztp__preq {
	const char *val[ZTP__VAR_COUNT];
	size_t vlen[ZTP__VAR_COUNT];
	int act;      /* 0..3: action - 1 */
	bool explain; /* find the lowest deciding statement, no early exit */
	/* results */
	bool found[2];
	uint32_t best[2];
} ztp__preq;

int ztp__pindex_init(ztp__pindex *x);
void ztp__pindex_free(ztp__pindex *x);

/* Check a resource of a policy document (an MQTT filter whose whole levels
 * may be variables). Sets a detail naming what. */
int ztp__presource_check(const char *r, size_t len, const char *what);
/* Add a checked resource for a statement. actions: bit a for action a+1. */
int ztp__pindex_add(ztp__pindex *x, const char *r, size_t len, int effect,
		    unsigned actions, uint32_t stmt);
/* Compile the trie; call once after the last add, before any match.
 * Nothing may be added afterwards. ZTP_ENOMEM, or ZTP_ETOOBIG when the
 * compiled index would exceed 4 GiB. */
int ztp__pindex_finish(ztp__pindex *x);

/* MQTT topic name / filter syntax (§4.7), with a detail on failure. */
int ztp__topic_name_check(const char *t, size_t len);
int ztp__topic_filter_check(const char *t, size_t len);

/* One level of a request: bytes [from, from + len) of its topic. */
typedef struct ztp__plevel {
	uint32_t from;
	uint32_t len;
} ztp__plevel;

/* A request topic split into levels, on the caller's stack: no allocation
 * whatever the topic. */
typedef struct ztp__ptopic {
	const char *s; /* the whole topic, borrowed */
	size_t len;
	const char *b;	/* s, or pad when the topic is shorter than pad */
	char pad[16];	/* the topic padded with zeros (see index.c) */
	uint32_t n;	/* levels in l: min(total, ZTP__PX_TOPIC_LEVELS) */
	uint32_t total; /* levels in the topic */
	ztp__plevel l[ZTP__PX_TOPIC_LEVELS];
} ztp__ptopic;

/* Check a topic name (filter: a topic filter) with the same rules and
 * details as ztp__topic_name_check() / ztp__topic_filter_check(), and split
 * it into t. t borrows s. With portable, the code for CPUs without 16-byte
 * vectors is used whatever this one has (for tests comparing the two). */
int ztp__ptopic_split_impl(ztp__ptopic *t, const char *s, size_t len,
			   bool filter, bool portable);
static inline int ztp__ptopic_split(ztp__ptopic *t, const char *s, size_t len,
				    bool filter)
{
	return ztp__ptopic_split_impl(t, s, len, filter, false);
}

/* Evaluate a split topic name against the index: sets r->found/best. */
void ztp__pindex_match_name(const ztp__pindex *x, ztp__preq *r, ztp__ptopic *t);
/* Evaluate a split topic filter for subscribe: found[ALLOW] when the
 * filter is a subset of an Allow resource, found[DENY] when it intersects a
 * Deny resource. */
void ztp__pindex_match_filter(const ztp__pindex *x, ztp__preq *r,
			      ztp__ptopic *t);

#endif /* ZTP_POLICY_INDEX_H */
