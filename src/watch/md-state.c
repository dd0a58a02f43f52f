/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing md's sysfs attributes and /proc/mdstat, and the events between
 * two array states (see md-state.h for the rules). Everything here works on
 * bounded text handed in by the caller and allocates only member lists. */

#include <ctype.h>

#include "md-state.h"
#include "string-table.h"
#include "string-util.h"

#define IN_SET2(x, a, b) ((x) == (a) || (x) == (b))

static const char *const md_array_status_table[_MD_ARRAY_STATUS_MAX] = {
        [MD_ARRAY_CLEAR] = "clear",
        [MD_ARRAY_INACTIVE] = "inactive",
        [MD_ARRAY_SUSPENDED] = "suspended",
        [MD_ARRAY_READONLY] = "readonly",
        [MD_ARRAY_READ_AUTO] = "read-auto",
        [MD_ARRAY_CLEAN] = "clean",
        [MD_ARRAY_ACTIVE] = "active",
        [MD_ARRAY_WRITE_PENDING] = "write-pending",
        [MD_ARRAY_ACTIVE_IDLE] = "active-idle",
        [MD_ARRAY_BROKEN] = "broken",
};

static const char *const md_sync_action_table[_MD_SYNC_ACTION_MAX] = {
        [MD_SYNC_IDLE] = "idle",
        [MD_SYNC_RESYNC] = "resync",
        [MD_SYNC_RECOVER] = "recover",
        [MD_SYNC_CHECK] = "check",
        [MD_SYNC_REPAIR] = "repair",
        [MD_SYNC_RESHAPE] = "reshape",
        [MD_SYNC_FROZEN] = "frozen",
};

static const char *const md_attr_table[_MD_ATTR_MAX] = {
        [MD_ATTR_ARRAY_STATE] = "array_state",
        [MD_ATTR_SYNC_ACTION] = "sync_action",
        [MD_ATTR_SYNC_COMPLETED] = "sync_completed",
        [MD_ATTR_DEGRADED] = "degraded",
        [MD_ATTR_RESYNC_START] = "resync_start",
        [MD_ATTR_RAID_DISKS] = "raid_disks",
        [MD_ATTR_LEVEL] = "level",
        [MD_ATTR_MISMATCH_CNT] = "mismatch_cnt",
        [MD_ATTR_SYNC_MIN] = "sync_min",
};

static const char *const md_event_type_table[_MD_EVENT_TYPE_MAX] = {
        [MD_EVENT_DISK_FAILED] = "disk-failed",
        [MD_EVENT_DEGRADED] = "degraded",
        [MD_EVENT_RESYNC_PENDING] = "resync-pending",
        [MD_EVENT_RESYNC_STARTED] = "resync-started",
        [MD_EVENT_RESYNC_FINISHED] = "resync-finished",
        [MD_EVENT_CHECK_MISMATCH] = "check-mismatch",
};

DEFINE_STRING_TABLE(md_array_status, MdArrayStatus, md_array_status_table, _MD_ARRAY_STATUS_MAX)
DEFINE_STRING_TABLE(md_sync_action, MdSyncAction, md_sync_action_table, _MD_SYNC_ACTION_MAX)
DEFINE_STRING_TABLE(md_attr, MdAttr, md_attr_table, _MD_ATTR_MAX)
DEFINE_STRING_TABLE_TO_STRING(md_event_type, MdEventType, md_event_type_table, _MD_EVENT_TYPE_MAX)

static const struct {
        const char *word;
        MdMemberFlag flag;
} member_flags[] = {
        { "faulty", MD_MEMBER_FAULTY },
        { "in_sync", MD_MEMBER_IN_SYNC },
        { "journal", MD_MEMBER_JOURNAL },
        { "write_mostly", MD_MEMBER_WRITE_MOSTLY },
        { "blocked", MD_MEMBER_BLOCKED },
        { "spare", MD_MEMBER_SPARE },
        { "write_error", MD_MEMBER_WRITE_ERROR },
        { "want_replacement", MD_MEMBER_WANT_REPLACEMENT },
        { "replacement", MD_MEMBER_REPLACEMENT },
        { "external_bbl", MD_MEMBER_EXTERNAL_BBL },
        { "failfast", MD_MEMBER_FAILFAST },
};

bool md_array_name_valid(const char *name) {
        size_t n;

        if (!name || strncmp(name, "md", 2) != 0)
                return false;
        n = strlen(name);
        if (n < 3 || n >= MD_NAME_MAX)
                return false;
        for (size_t i = 2; i < n; i++)
                if (!isascii(name[i]) || !(isalnum(name[i]) || name[i] == '_'))
                        return false;
        return true;
}

bool md_member_name_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n == 0 || n >= MD_NAME_MAX || streq(name, ".") || streq(name, ".."))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isascii(name[i]) || !isgraph(name[i]) || name[i] == '/')
                        return false;
        return true;
}

/* The value of a sysfs attribute without its one trailing newline, copied
 * into buf as a C string; refuses NUL, control characters and what does not
 * fit. */
static int take_value(const char *text, size_t len, char *buf, size_t size) {
        if (!text && len > 0)
                return -EBADMSG;
        if (len > 0 && text[len - 1] == '\n')
                len--;
        if (len >= size)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++)
                if (!isascii(text[i]) || !isprint(text[i]))
                        return -EBADMSG;
        memcpy(buf, text, len);
        buf[len] = 0;
        return 0;
}

static bool is_word(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!(islower(*s) || isdigit(*s) || *s == '-' || *s == '_'))
                        return false;
        return true;
}

/* Decimal, digits only, no sign or space; *end is set past the digits. */
static int parse_u64_prefix(const char *s, uint64_t *ret, const char **end) {
        uint64_t v = 0;
        const char *p = s;

        if (!isdigit(*p))
                return -EBADMSG;
        for (; isdigit(*p); p++) {
                unsigned d = *p - '0';
                if (v > (UINT64_MAX - d) / 10)
                        return -EBADMSG;
                v = v * 10 + d;
        }
        *ret = v;
        if (end)
                *end = p;
        return 0;
}

static int parse_u64(const char *s, uint64_t *ret) {
        const char *end;
        int r;

        r = parse_u64_prefix(s, ret, &end);
        if (r < 0)
                return r;
        return *end ? -EBADMSG : 0;
}

static int parse_unsigned(const char *s, unsigned *ret) {
        uint64_t v;
        int r;

        r = parse_u64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -EBADMSG;
        *ret = (unsigned) v;
        return 0;
}

static void copy_string(char *dst, size_t size, const char *src) {
        size_t n = strnlen(src, size - 1);

        memcpy(dst, src, n);
        dst[n] = 0;
}

void md_array_state_init(MdArrayState *s, const char *name) {
        *s = (MdArrayState) {
                .array_state = _MD_ARRAY_STATUS_INVALID,
                .sync_action = _MD_SYNC_ACTION_INVALID,
                .resync_start = MD_SECTOR_NONE,
        };
        if (name)
                copy_string(s->name, sizeof(s->name), name);
}

void md_array_state_done(MdArrayState *s) {
        s->members = mfree(s->members);
        s->n_members = 0;
}

int md_array_state_copy(MdArrayState *dst, const MdArrayState *src) {
        MdMemberState *m = NULL;

        if (src->n_members > 0) {
                m = calloc(src->n_members, sizeof(*m));
                if (!m)
                        return -ENOMEM;
                memcpy(m, src->members, src->n_members * sizeof(*m));
        }
        *dst = *src;
        dst->members = m;
        return 0;
}

void md_array_state_clear_attr(MdArrayState *s, MdAttr a) {
        if (a < 0 || a >= _MD_ATTR_MAX)
                return;
        s->known &= ~(1u << a);
        switch (a) {
        case MD_ATTR_ARRAY_STATE:
                s->array_state = _MD_ARRAY_STATUS_INVALID;
                s->array_state_text[0] = 0;
                break;
        case MD_ATTR_SYNC_ACTION:
                s->sync_action = _MD_SYNC_ACTION_INVALID;
                s->sync_action_text[0] = 0;
                break;
        case MD_ATTR_SYNC_COMPLETED:
                s->sync_done = s->sync_total = 0;
                s->sync_running = s->sync_delayed = false;
                break;
        case MD_ATTR_DEGRADED:
                s->degraded = 0;
                break;
        case MD_ATTR_RESYNC_START:
                s->resync_start = MD_SECTOR_NONE;
                break;
        case MD_ATTR_RAID_DISKS:
                s->raid_disks = 0;
                break;
        case MD_ATTR_LEVEL:
                s->level[0] = 0;
                break;
        case MD_ATTR_MISMATCH_CNT:
                s->mismatch_cnt = 0;
                break;
        case MD_ATTR_SYNC_MIN:
                s->sync_min = 0;
                break;
        default:
                break;
        }
}

static int parse_sync_completed(const char *v, MdArrayState *s) {
        uint64_t done, total;
        const char *p;
        int r;

        if (streq(v, "none")) {
                s->sync_done = s->sync_total = 0;
                s->sync_running = s->sync_delayed = false;
                return 0;
        }
        if (streq(v, "delayed")) {
                s->sync_done = s->sync_total = 0;
                s->sync_running = s->sync_delayed = true;
                return 0;
        }
        /* "8192 / 129024" */
        r = parse_u64_prefix(v, &done, &p);
        if (r < 0)
                return r;
        if (strncmp(p, " / ", 3) != 0)
                return -EBADMSG;
        r = parse_u64(p + 3, &total);
        if (r < 0)
                return r;
        s->sync_done = done;
        s->sync_total = total;
        s->sync_running = true;
        s->sync_delayed = false;
        return 0;
}

static int parse_raid_disks(const char *v, unsigned *ret) {
        uint64_t n, old;
        const char *p;
        int r;

        if (!*v) {              /* md prints nothing for 0 */
                *ret = 0;
                return 0;
        }
        r = parse_u64_prefix(v, &n, &p);
        if (r < 0)
                return r;
        if (*p) {
                /* during a reshape: "NEW (OLD)" */
                if (strncmp(p, " (", 2) != 0)
                        return -EBADMSG;
                r = parse_u64_prefix(p + 2, &old, &p);
                if (r < 0)
                        return r;
                if (!streq(p, ")"))
                        return -EBADMSG;
        }
        if (n > UINT32_MAX)
                return -EBADMSG;
        *ret = (unsigned) n;
        return 0;
}

int md_array_state_set_attr(MdArrayState *s, MdAttr a, const char *text, size_t len) {
        char v[MD_VALUE_MAX];
        MdArrayState t = *s;    /* parse into a copy: a refused value changes nothing but known */
        int r;

        if (a < 0 || a >= _MD_ATTR_MAX)
                return -EINVAL;
        r = take_value(text, len, v, sizeof(v));
        if (r < 0)
                return r;

        switch (a) {
        case MD_ATTR_ARRAY_STATE:
                if (!is_word(v) || strlen(v) >= sizeof(t.array_state_text)) {
                        r = -EBADMSG;
                        break;
                }
                copy_string(t.array_state_text, sizeof(t.array_state_text), v);
                t.array_state = md_array_status_from_string(v);
                break;
        case MD_ATTR_SYNC_ACTION:
                if (!is_word(v) || strlen(v) >= sizeof(t.sync_action_text)) {
                        r = -EBADMSG;
                        break;
                }
                copy_string(t.sync_action_text, sizeof(t.sync_action_text), v);
                t.sync_action = md_sync_action_from_string(v);
                break;
        case MD_ATTR_SYNC_COMPLETED:
                r = parse_sync_completed(v, &t);
                break;
        case MD_ATTR_DEGRADED:
                r = parse_unsigned(v, &t.degraded);
                break;
        case MD_ATTR_RESYNC_START:
                if (streq(v, "none"))
                        t.resync_start = MD_SECTOR_NONE;
                else {
                        r = parse_u64(v, &t.resync_start);
                        if (r >= 0 && t.resync_start == MD_SECTOR_NONE)
                                r = -EBADMSG;
                }
                break;
        case MD_ATTR_RAID_DISKS:
                r = parse_raid_disks(v, &t.raid_disks);
                break;
        case MD_ATTR_LEVEL:
                if ((*v && !is_word(v)) || strlen(v) >= sizeof(t.level)) {
                        r = -EBADMSG;
                        break;
                }
                copy_string(t.level, sizeof(t.level), v);
                break;
        case MD_ATTR_MISMATCH_CNT:
                r = parse_u64(v, &t.mismatch_cnt);
                break;
        case MD_ATTR_SYNC_MIN:
                r = parse_u64(v, &t.sync_min);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0)
                return r;
        t.known |= 1u << a;
        *s = t;
        return 0;
}

void md_array_state_take_attr(MdArrayState *dst, const MdArrayState *src, MdAttr a) {
        if (a < 0 || a >= _MD_ATTR_MAX)
                return;
        md_array_state_clear_attr(dst, a);
        if (!md_array_state_knows(src, a))
                return;
        switch (a) {
        case MD_ATTR_ARRAY_STATE:
                dst->array_state = src->array_state;
                memcpy(dst->array_state_text, src->array_state_text, sizeof(dst->array_state_text));
                break;
        case MD_ATTR_SYNC_ACTION:
                dst->sync_action = src->sync_action;
                memcpy(dst->sync_action_text, src->sync_action_text, sizeof(dst->sync_action_text));
                break;
        case MD_ATTR_SYNC_COMPLETED:
                dst->sync_done = src->sync_done;
                dst->sync_total = src->sync_total;
                dst->sync_running = src->sync_running;
                dst->sync_delayed = src->sync_delayed;
                break;
        case MD_ATTR_DEGRADED:
                dst->degraded = src->degraded;
                break;
        case MD_ATTR_RESYNC_START:
                dst->resync_start = src->resync_start;
                break;
        case MD_ATTR_RAID_DISKS:
                dst->raid_disks = src->raid_disks;
                break;
        case MD_ATTR_LEVEL:
                memcpy(dst->level, src->level, sizeof(dst->level));
                break;
        case MD_ATTR_MISMATCH_CNT:
                dst->mismatch_cnt = src->mismatch_cnt;
                break;
        case MD_ATTR_SYNC_MIN:
                dst->sync_min = src->sync_min;
                break;
        default:
                break;
        }
        dst->known |= 1u << a;
}

bool md_array_state_equal(const MdArrayState *a, const MdArrayState *b) {
        if (!streq(a->name, b->name) || a->known != b->known || a->array_state != b->array_state ||
            !streq(a->array_state_text, b->array_state_text) || a->sync_action != b->sync_action ||
            !streq(a->sync_action_text, b->sync_action_text) || a->sync_done != b->sync_done ||
            a->sync_total != b->sync_total || a->sync_running != b->sync_running ||
            a->sync_delayed != b->sync_delayed ||
            a->resync_start != b->resync_start || a->degraded != b->degraded ||
            a->raid_disks != b->raid_disks || !streq(a->level, b->level) ||
            a->mismatch_cnt != b->mismatch_cnt || a->sync_min != b->sync_min ||
            a->n_members != b->n_members)
                return false;
        for (size_t i = 0; i < a->n_members; i++) {
                const MdMemberState *x = &a->members[i], *y = &b->members[i];
                if (!streq(x->name, y->name) || x->flags != y->flags || x->known != y->known ||
                    !streq(x->state_text, y->state_text))
                        return false;
        }
        return true;
}

int md_member_state_parse(const char *text, size_t len, MdMemberState *m) {
        char v[sizeof(m->state_text)], words[sizeof(m->state_text)];
        unsigned flags = 0;
        int r;

        r = take_value(text, len, v, sizeof(v));
        if (r < 0)
                return r;
        memcpy(words, v, sizeof(words));

        /* "" is a valid state (a member md has not classified); otherwise
         * words joined by single commas, none empty. */
        for (char *p = words; *p; ) {
                char *comma = strchr(p, ',');
                bool found = false;

                if (comma)
                        *comma = 0;
                if (!is_word(p))
                        return -EBADMSG;
                for (size_t i = 0; i < ELEMENTSOF(member_flags); i++)
                        if (streq(p, member_flags[i].word)) {
                                flags |= member_flags[i].flag;
                                found = true;
                        }
                if (!found)
                        flags |= MD_MEMBER_UNKNOWN;
                if (!comma)
                        break;
                p = comma + 1;
                if (!*p)
                        return -EBADMSG;        /* a trailing comma */
        }
        copy_string(m->state_text, sizeof(m->state_text), v);
        m->flags = flags;
        m->known = true;
        return 0;
}

static size_t member_index(const MdArrayState *s, const char *name, bool *found) {
        size_t lo = 0, hi = s->n_members;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int c = strcmp(s->members[mid].name, name);
                if (c == 0) {
                        *found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = false;
        return lo;
}

int md_array_state_put_member(MdArrayState *s, const MdMemberState *m) {
        MdMemberState *n;
        bool found;
        size_t i;

        if (!md_member_name_valid(m->name))
                return -EINVAL;
        i = member_index(s, m->name, &found);
        if (found) {
                s->members[i] = *m;
                return 0;
        }
        n = realloc(s->members, (s->n_members + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        memmove(n + i + 1, n + i, (s->n_members - i) * sizeof(*n));
        n[i] = *m;
        s->members = n;
        s->n_members++;
        return 0;
}

const MdMemberState *md_array_state_get_member(const MdArrayState *s, const char *name) {
        bool found;
        size_t i = member_index(s, name, &found);

        return found ? &s->members[i] : NULL;
}

bool md_array_state_is_running(const MdArrayState *s) {
        if (!md_array_state_knows(s, MD_ATTR_ARRAY_STATE))
                return false;
        switch (s->array_state) {
        case MD_ARRAY_SUSPENDED:
        case MD_ARRAY_READONLY:
        case MD_ARRAY_READ_AUTO:
        case MD_ARRAY_CLEAN:
        case MD_ARRAY_ACTIVE:
        case MD_ARRAY_WRITE_PENDING:
        case MD_ARRAY_ACTIVE_IDLE:
        case MD_ARRAY_BROKEN:
                return true;
        default:
                return false;
        }
}

bool md_array_state_is_degraded(const MdArrayState *s) {
        return (md_array_state_knows(s, MD_ATTR_DEGRADED) && s->degraded > 0) ||
                (md_array_state_knows(s, MD_ATTR_ARRAY_STATE) && s->array_state == MD_ARRAY_BROKEN);
}

bool md_array_state_is_resync_pending(const MdArrayState *s) {
        return md_array_state_knows(s, MD_ATTR_ARRAY_STATE) &&
                IN_SET2(s->array_state, MD_ARRAY_READ_AUTO, MD_ARRAY_READONLY) &&
                md_array_state_knows(s, MD_ATTR_RESYNC_START) && s->resync_start != MD_SECTOR_NONE &&
                md_array_state_knows(s, MD_ATTR_SYNC_ACTION) &&
                IN_SET2(s->sync_action, MD_SYNC_IDLE, MD_SYNC_FROZEN);
}

/* A rebuild needs a target: a member that is neither in sync, nor faulty,
 * nor a journal (md shows it as "spare"), taking a missing member's place
 * (the array is degraded) or replacing one (want_replacement). This is
 * what md's remove_and_add_spares() asks before it starts a recovery. */
static bool recovery_has_target(const MdArrayState *s) {
        bool known = false, spare = false, replacing = false;

        for (size_t i = 0; i < s->n_members; i++) {
                const MdMemberState *m = &s->members[i];

                if (!m->known)
                        continue;
                known = true;
                if (m->flags & MD_MEMBER_SPARE)
                        spare = true;
                if (m->flags & (MD_MEMBER_WANT_REPLACEMENT | MD_MEMBER_REPLACEMENT))
                        replacing = true;
        }
        if (!known)
                return true;    /* members not known: sync_action has to do */
        return spare && (replacing || md_array_state_is_degraded(s));
}

bool md_array_state_is_syncing(const MdArrayState *s) {
        if (!md_array_state_knows(s, MD_ATTR_SYNC_ACTION))
                return false;
        /* md_check_recovery() marks a sync running (MD_RECOVERY_RUNNING)
         * before it knows whether there is one to run, and sync_action then
         * reads "recover", sync_completed "0 / SIZE": right after a disk
         * fails, with nothing to rebuild onto, both say so for a moment (seen
         * on 6.1). So a recovery counts only with a target to rebuild, and
         * either counts only while sync_completed is not "none". */
        if (md_array_state_knows(s, MD_ATTR_SYNC_COMPLETED) && !s->sync_running)
                return false;
        if (s->sync_action == MD_SYNC_RESYNC)
                return true;
        return s->sync_action == MD_SYNC_RECOVER && recovery_has_target(s);
}

bool md_array_state_is_in_sync(const MdArrayState *s) {
        if (!md_array_state_is_running(s) || md_array_state_is_degraded(s))
                return false;
        if (!md_array_state_knows(s, MD_ATTR_RESYNC_START) || s->resync_start != MD_SECTOR_NONE)
                return false;
        if (!md_array_state_knows(s, MD_ATTR_SYNC_ACTION))
                return true;    /* raid0, linear: nothing to sync */
        switch (s->sync_action) {
        case MD_SYNC_IDLE:
        case MD_SYNC_CHECK:
        case MD_SYNC_REPAIR:
        case MD_SYNC_FROZEN:
                return true;
        case MD_SYNC_RECOVER:
                return !md_array_state_is_syncing(s);   /* md merely looking for work */
        default:
                return false;   /* resync, reshape, or a word not known here */
        }
}

/* Running but not in sync with all its disks: degraded, or a resync due. */
static bool needs_sync(const MdArrayState *s) {
        return md_array_state_is_running(s) &&
                (md_array_state_is_degraded(s) ||
                 (md_array_state_knows(s, MD_ATTR_RESYNC_START) && s->resync_start != MD_SECTOR_NONE));
}

static bool member_failed(const MdMemberState *m) {
        return m && m->known && (m->flags & MD_MEMBER_FAULTY) && !(m->flags & MD_MEMBER_IN_SYNC);
}

static unsigned emit(md_event_handler_t handler, void *userdata, MdEventType type, const MdArrayState *s,
                     const char *disk, uint64_t mismatches) {
        MdEvent e = {
                .type = type,
                .array = s->name,
                .disk = disk,
                .mismatches = mismatches,
        };

        if (handler)
                handler(&e, userdata);
        return 1;
}

unsigned md_array_state_diff(const MdArrayState *old, const MdArrayState *new, md_event_handler_t handler,
                             void *userdata) {
        unsigned n = 0;

        if (!new)
                return 0;       /* an array that went: nothing to trigger */

        for (size_t i = 0; i < new->n_members; i++) {
                const MdMemberState *m = &new->members[i];

                if (member_failed(m) && !(old && member_failed(md_array_state_get_member(old, m->name))))
                        n += emit(handler, userdata, MD_EVENT_DISK_FAILED, new, m->name, 0);
        }

        if (md_array_state_is_degraded(new)) {
                bool was = old && md_array_state_is_degraded(old);
                bool broke = new->array_state == MD_ARRAY_BROKEN &&
                        !(old && md_array_state_knows(old, MD_ATTR_ARRAY_STATE) &&
                          old->array_state == MD_ARRAY_BROKEN);
                bool worse = was && md_array_state_knows(old, MD_ATTR_DEGRADED) && new->degraded > old->degraded;

                if (!was || broke || worse)
                        n += emit(handler, userdata, MD_EVENT_DEGRADED, new, NULL, 0);
        }

        /* A resync or rebuild short enough to run between two reads (a
         * bitmap re-add, a small array) is seen only as the array coming
         * back in sync: that is resync-finished too. */
        if (old && (md_array_state_is_syncing(old) || needs_sync(old)) && !md_array_state_is_syncing(new) &&
            md_array_state_is_running(new) && !md_array_state_is_degraded(new) &&
            md_array_state_knows(new, MD_ATTR_RESYNC_START) && new->resync_start == MD_SECTOR_NONE &&
            new->sync_action != MD_SYNC_FROZEN)
                n += emit(handler, userdata, MD_EVENT_RESYNC_FINISHED, new, NULL, 0);

        if (md_array_state_is_syncing(new) && !(old && md_array_state_is_syncing(old)))
                n += emit(handler, userdata, MD_EVENT_RESYNC_STARTED, new, NULL, 0);

        if (md_array_state_is_resync_pending(new) && !(old && md_array_state_is_resync_pending(old)))
                n += emit(handler, userdata, MD_EVENT_RESYNC_PENDING, new, NULL, 0);

        if (old && md_array_state_knows(old, MD_ATTR_SYNC_ACTION) && old->sync_action == MD_SYNC_CHECK &&
            md_array_state_knows(new, MD_ATTR_SYNC_ACTION) && new->sync_action != MD_SYNC_CHECK &&
            md_array_state_knows(new, MD_ATTR_MISMATCH_CNT) && new->mismatch_cnt > 0)
                n += emit(handler, userdata, MD_EVENT_CHECK_MISMATCH, new, NULL, new->mismatch_cnt);

        return n;
}

typedef struct TrackContext {
        md_event_handler_t handler;
        void *userdata;
        bool started, finished;
} TrackContext;

static void on_tracked(const MdEvent *e, void *userdata) {
        TrackContext *t = userdata;

        if (e->type == MD_EVENT_RESYNC_STARTED)
                t->started = true;
        else if (e->type == MD_EVENT_RESYNC_FINISHED)
                t->finished = true;
        if (t->handler)
                t->handler(e, t->userdata);
}

unsigned md_array_state_track(const MdArrayState *old, MdArrayState *new, md_event_handler_t handler,
                              void *userdata) {
        TrackContext t = { handler, userdata };
        bool owed = old && old->finish_owed;
        unsigned n;

        if (!new)
                return 0;
        n = md_array_state_diff(old, new, on_tracked, &t);
        if (t.finished)
                owed = false;
        if (t.started)
                owed = true;
        if (owed && !t.finished && !md_array_state_is_syncing(new) && md_array_state_is_in_sync(new) &&
            new->sync_action != MD_SYNC_FROZEN) {
                n += emit(handler, userdata, MD_EVENT_RESYNC_FINISHED, new, NULL, 0);
                owed = false;
        }
        new->finish_owed = owed;
        return n;
}

/* /proc/mdstat, as md_seq_show() writes it:
 *   Personalities : [raid1] [raid0]
 *   md0 : active (auto-read-only) raid1 vdb[1] vda[0](F)
 *         65472 blocks super 1.2 [2/1] [U_]
 *         [==>.................]  recovery = 12.5% (8192/65472) finish=0.4min speed=2000K/sec
 *         	resync=PENDING
 *   unused devices: <none>
 * An array's lines follow its header, indented. */

void mdstat_done(Mdstat *m) {
        for (size_t i = 0; i < m->n_arrays; i++)
                free(m->arrays[i].members);
        m->arrays = mfree(m->arrays);
        m->n_arrays = 0;
}

const MdstatArray *mdstat_get(const Mdstat *m, const char *name) {
        for (size_t i = 0; i < m->n_arrays; i++)
                if (streq(m->arrays[i].name, name))
                        return &m->arrays[i];
        return NULL;
}

static int mdstat_parse_member(const char *tok, MdstatMember *ret) {
        MdstatMember m = {};
        const char *b = strchr(tok, '['), *p;
        uint64_t role;
        int r;

        if (!b || b == tok || (size_t) (b - tok) >= sizeof(m.name))
                return -EBADMSG;
        memcpy(m.name, tok, b - tok);
        r = parse_u64_prefix(b + 1, &role, &p);
        if (r < 0 || *p != ']' || role > INT32_MAX)
                return -EBADMSG;
        m.role = (int) role;
        for (p++; *p; p += 3) {
                /* (W)rite-mostly, (J)ournal, (F)aulty, (S)pare, (R)eplacement; others ignored */
                if (p[0] != '(' || !isupper(p[1]) || p[2] != ')')
                        return -EBADMSG;
                switch (p[1]) {
                case 'W':
                        m.write_mostly = true;
                        break;
                case 'J':
                        m.journal = true;
                        break;
                case 'F':
                        m.faulty = true;
                        break;
                case 'S':
                        m.spare = true;
                        break;
                case 'R':
                        m.replacement = true;
                        break;
                default:
                        break;
                }
        }
        *ret = m;
        return 0;
}

static int mdstat_parse_header(char *line, MdstatArray *a) {
        char *save = NULL, *tok;
        int r;

        tok = strtok_r(line, " ", &save);
        if (!tok || !md_array_name_valid(tok))
                return -EBADMSG;
        copy_string(a->name, sizeof(a->name), tok);
        tok = strtok_r(NULL, " ", &save);
        if (!tok || !streq(tok, ":"))
                return -EBADMSG;
        tok = strtok_r(NULL, " ", &save);
        if (!tok)
                return -EBADMSG;
        if (streq(tok, "active"))
                a->active = true;
        else if (!streq(tok, "inactive"))
                return -EBADMSG;
        tok = strtok_r(NULL, " ", &save);
        if (a->active) {
                if (tok && streq(tok, "(read-only)")) {
                        a->read_only = true;
                        tok = strtok_r(NULL, " ", &save);
                } else if (tok && streq(tok, "(auto-read-only)")) {
                        a->auto_read_only = true;
                        tok = strtok_r(NULL, " ", &save);
                }
                if (!tok || !is_word(tok) || strlen(tok) >= sizeof(a->personality))
                        return -EBADMSG;
                copy_string(a->personality, sizeof(a->personality), tok);
                tok = strtok_r(NULL, " ", &save);
        }
        for (; tok; tok = strtok_r(NULL, " ", &save)) {
                MdstatMember m, *n;

                r = mdstat_parse_member(tok, &m);
                if (r < 0)
                        return r;
                n = realloc(a->members, (a->n_members + 1) * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                n[a->n_members++] = m;
                a->members = n;
        }
        return 0;
}

/* One indented line of an array. Unknown lines are skipped: the kernel adds
 * such lines (bitmap:, chunk layouts) without notice. */
static int mdstat_parse_body(char *line, MdstatArray *a) {
        char *save = NULL, *tok;
        bool progress = false, blocks = false;
        unsigned i = 0;

        /* "65472 blocks super 1.2 [2/1] [U_]": the size line carries the counts */
        for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save), i++) {
                if (i == 1 && streq(tok, "blocks"))
                        blocks = true;
                uint64_t done, total;
                const char *p;

                if (streq(tok, "resync=PENDING"))
                        a->resync_pending = true;
                else if (streq(tok, "resync=DELAYED"))
                        a->resync_delayed = true;
                else if (blocks && tok[0] == '[' && isdigit(tok[1])) {
                        uint64_t d, w;

                        /* [2/1]: raid disks / working ones */
                        if (parse_u64_prefix(tok + 1, &d, &p) < 0 || *p != '/' ||
                            parse_u64_prefix(p + 1, &w, &p) < 0 || !streq(p, "]") || d > UINT32_MAX ||
                            w > d)
                                return -EBADMSG;
                        a->raid_disks = (unsigned) d;
                        a->working = (unsigned) w;
                } else if (tok[0] == '[' && (tok[1] == '=' || tok[1] == '>') && !a->sync_op[0]) {
                        progress = true;        /* the bar; the operation follows */
                } else if (progress && !a->sync_op[0]) {
                        if (!is_word(tok) || strlen(tok) >= sizeof(a->sync_op))
                                return -EBADMSG;
                        copy_string(a->sync_op, sizeof(a->sync_op), tok);
                } else if (progress && tok[0] == '(') {
                        if (parse_u64_prefix(tok + 1, &done, &p) < 0 || *p != '/' ||
                            parse_u64_prefix(p + 1, &total, &p) < 0 || !streq(p, ")"))
                                return -EBADMSG;
                        a->sync_done = done;
                        a->sync_total = total;
                        progress = false;       /* finish= and speed= are not kept */
                }
        }
        if (progress)   /* a bar without an operation and its (done/total) */
                return -EBADMSG;
        return 0;
}

int mdstat_parse(const char *text, size_t len, Mdstat *ret) {
        _cleanup_free_ char *copy = NULL;
        Mdstat m = {};
        MdstatArray *cur = NULL;
        char *line, *next;
        int r = 0;

        if (!ret || (!text && len > 0))
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (text[i] != '\n' && text[i] != '\t' && (!isascii(text[i]) || !isprint(text[i])))
                        return -EBADMSG;
        copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, text, len);
        copy[len] = 0;

        for (line = copy; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;

                if (line[0] == ' ' || line[0] == '\t') {
                        if (line[strspn(line, " \t")] == 0)
                                continue;
                        if (!cur) {
                                r = -EBADMSG;
                                break;
                        }
                        r = mdstat_parse_body(line, cur);
                        if (r < 0)
                                break;
                        continue;
                }
                if (line[0] == 0)
                        continue;
                if (string_has_prefix(line, "Personalities :") || string_has_prefix(line, "unused devices:")) {
                        cur = NULL;
                        continue;
                }

                MdstatArray *n = realloc(m.arrays, (m.n_arrays + 1) * sizeof(*n));
                if (!n) {
                        r = -ENOMEM;
                        break;
                }
                m.arrays = n;
                cur = &m.arrays[m.n_arrays++];
                *cur = (MdstatArray) {};
                r = mdstat_parse_header(line, cur);
                if (r < 0)
                        break;
                for (size_t i = 0; i + 1 < m.n_arrays; i++)
                        if (streq(m.arrays[i].name, cur->name)) {
                                r = -EBADMSG;
                                break;
                        }
                if (r < 0)
                        break;
        }
        if (r < 0) {
                mdstat_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}
