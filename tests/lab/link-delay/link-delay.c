/*
 * link-delay: a userspace link emulator for the NAT lab (tests/lab/lab.sh link), for kernels without netem.
 *
 * It takes the packets of one NFQUEUE (libnetfilter_queue; the lab's routers send what their LAN sends out to
 * the public network there with `iptables-nft -t raw -A PREROUTING -i lan -j NFQUEUE`) and gives each its verdict:
 * DROP at once with probability --loss, else ACCEPT once --delay (plus a uniform --jitter of +-J ms) has passed.
 * With jitter, verdicts go out of order (the packets are reordered as netem's jitter reorders them); without it
 * they are FIFO and go out as one batch verdict per wake-up (nfq_set_verdict_batch: every queued id up to N).
 *
 * Only the metadata is copied to userspace (NFQNL_COPY_META), never the payload, and many queue messages are read
 * per system call (recvmmsg). With loss the kernel splits GSO packets before queueing them (no NFQA_CFG_F_GSO), so
 * each wire-sized packet is lost on its own, as on a real link; without loss they are delayed whole. --realtime
 * runs it SCHED_FIFO, so that a loaded machine does not add its scheduling delays to the configured one (it
 * only ever blocks in ppoll, and works in proportion to the packets it is given).
 *
 *   link-delay --queue N --delay MS [--jitter MS] [--loss PERCENT] [--seed S] [--realtime] [--trace FILE]
 *
 * --trace writes one line per packet, "<ms since start> pass|drop" (to see a sender's stalls on the link).
 *
 * Prints "link-delay: queue N ready ..." once bound, and on SIGTERM/SIGINT a line of counters, then exits 0.
 * Packets still held at exit are accepted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h> /* before linux/netfilter.h, whose linux/in.h would clash with glibc's */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif

#define BATCH 128          /* queue messages read per recvmmsg */
#define MSG_BYTES 1024     /* one metadata-only message is ~100-200 bytes */
#define IDLE_WAIT_NS 10000000 /* 10 ms */
#define QUEUE_MAXLEN 65536 /* packets the kernel may hold for us (25 ms at 100 MiB/s is ~2,300 of 1,200 bytes) */

typedef struct {
    uint64_t due_ns;
    uint32_t id;
} held_t;

static held_t *heap;
static size_t heap_len, heap_cap, heap_max;
static uint64_t delay_ns, jitter_ns;
static uint32_t loss_threshold; /* drop when rand32 < threshold */
static uint64_t rng_state;
static uint64_t n_packets, n_dropped, n_late, max_late_ns, n_verdict_errors;
static struct nfq_q_handle *qh;
static FILE *trace;
static uint64_t start_ns;
static volatile sig_atomic_t stop;

static void on_signal(int s) {
    (void)s;
    stop = 1;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: a fast PRNG; statistical quality is ample for loss and jitter */
static uint32_t rand32(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static void heap_push(held_t h) {
    if (heap_len == heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 4096;
        heap = realloc(heap, heap_cap * sizeof *heap);
        if (!heap) {
            perror("link-delay: realloc");
            exit(1);
        }
    }
    size_t i = heap_len++;
    /* ties by id keep FIFO order for equal due times */
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (heap[p].due_ns < h.due_ns || (heap[p].due_ns == h.due_ns && heap[p].id < h.id)) break;
        heap[i] = heap[p];
        i = p;
    }
    heap[i] = h;
    if (heap_len > heap_max) heap_max = heap_len;
}

static held_t heap_pop(void) {
    held_t top = heap[0], last = heap[--heap_len];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= heap_len) break;
        if (c + 1 < heap_len && (heap[c + 1].due_ns < heap[c].due_ns || (heap[c + 1].due_ns == heap[c].due_ns && heap[c + 1].id < heap[c].id))) c++;
        if (last.due_ns < heap[c].due_ns || (last.due_ns == heap[c].due_ns && last.id < heap[c].id)) break;
        heap[i] = heap[c];
        i = c;
    }
    heap[i] = last;
    return top;
}

static int on_packet(struct nfq_q_handle *q, struct nfgenmsg *msg, struct nfq_data *nfa, void *data) {
    (void)msg;
    (void)data;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    if (!ph) return 0;
    uint32_t id = ntohl(ph->packet_id);
    n_packets++;
    int lost = loss_threshold && rand32() < loss_threshold;
    if (trace) fprintf(trace, "%.3f %s\n", (double)(now_ns() - start_ns) / 1e6, lost ? "drop" : "pass");
    if (lost) {
        n_dropped++;
        if (nfq_set_verdict(q, id, NF_DROP, 0, NULL) < 0) n_verdict_errors++;
        return 0;
    }
    uint64_t due = now_ns() + delay_ns;
    if (jitter_ns) {
        int64_t j = (int64_t)((uint64_t)rand32() * (2 * jitter_ns + 1) >> 32) - (int64_t)jitter_ns;
        due = (int64_t)due + j < (int64_t)now_ns() ? now_ns() : (uint64_t)((int64_t)due + j);
    }
    heap_push((held_t){due, id});
    return 0;
}

/* Gives every held packet that is due its ACCEPT. */
static void release_due(void) {
    uint64_t now = now_ns();
    uint32_t last = 0;
    int any = 0;
    while (heap_len && heap[0].due_ns <= now) {
        held_t h = heap_pop();
        uint64_t late = now - h.due_ns;
        if (late > 1000000) n_late++;
        if (late > max_late_ns) max_late_ns = late;
        if (jitter_ns) {
            if (nfq_set_verdict(qh, h.id, NF_ACCEPT, 0, NULL) < 0) n_verdict_errors++;
        } else {
            /* FIFO: every lower id was either dropped already or is released now, so one batch verdict does */
            last = h.id;
            any = 1;
        }
    }
    if (any && nfq_set_verdict_batch(qh, last, NF_ACCEPT) < 0) n_verdict_errors++;
}

static double parse_number(const char *what, const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < 0) {
        fprintf(stderr, "link-delay: %s must be a number >= 0, not '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static void usage(void) {
    fprintf(stderr, "usage: link-delay --queue N --delay MS [--jitter MS] [--loss PERCENT] [--seed S] [--realtime] [--trace FILE]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int queue = -1, realtime = 0;
    double delay_ms = -1, jitter_ms = 0, loss_pct = 0;
    uint64_t seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
    static const struct option opts[] = {
        {"queue", required_argument, 0, 'q'}, {"delay", required_argument, 0, 'd'}, {"jitter", required_argument, 0, 'j'},
        {"loss", required_argument, 0, 'l'},  {"seed", required_argument, 0, 's'},  {"realtime", no_argument, 0, 'r'},
        {"trace", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'q': queue = (int)parse_number("--queue", optarg); break;
        case 'd': delay_ms = parse_number("--delay", optarg); break;
        case 'j': jitter_ms = parse_number("--jitter", optarg); break;
        case 'l': loss_pct = parse_number("--loss", optarg); break;
        case 's': seed = (uint64_t)parse_number("--seed", optarg); break;
        case 'r': realtime = 1; break;
        case 't':
            if (!(trace = fopen(optarg, "w"))) {
                fprintf(stderr, "link-delay: --trace %s: %s\n", optarg, strerror(errno));
                return 2;
            }
            break;
        default: usage();
        }
    }
    if (queue < 0 || queue > 65535 || delay_ms < 0 || optind != argc) usage();
    if (loss_pct > 100) {
        fprintf(stderr, "link-delay: --loss is a percentage (0-100), not %g\n", loss_pct);
        return 2;
    }
    if (jitter_ms > delay_ms) {
        fprintf(stderr, "link-delay: --jitter (%g ms) must not exceed --delay (%g ms)\n", jitter_ms, delay_ms);
        return 2;
    }
    delay_ns = (uint64_t)(delay_ms * 1e6 + 0.5);
    jitter_ns = (uint64_t)(jitter_ms * 1e6 + 0.5);
    loss_threshold = (uint32_t)(loss_pct / 100.0 * 4294967295.0 + 0.5);
    rng_state = seed ? seed : 0x9E3779B97F4A7C15ULL;
    start_ns = now_ns();

    if (realtime) {
        struct sched_param sp = {.sched_priority = 10};
        if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
            perror("link-delay: --realtime: sched_setscheduler(SCHED_FIFO)");
            return 1;
        }
    }
    struct nfq_handle *h = nfq_open();
    if (!h) {
        perror("link-delay: nfq_open (needs root and CONFIG_NETFILTER_NETLINK_QUEUE)");
        return 1;
    }
    qh = nfq_create_queue(h, (uint16_t)queue, &on_packet, NULL);
    if (!qh) {
        fprintf(stderr, "link-delay: cannot bind queue %d (another program holds it?): %s\n", queue, strerror(errno));
        return 1;
    }
    /* Without loss a GSO packet (up to 64 KiB of TCP segments that leave together anyway) is delayed whole: ~40x
     * fewer packets to handle. With loss the kernel splits it, so that each wire packet is lost on its own. */
    if ((loss_threshold == 0 && nfq_set_queue_flags(qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO) < 0) || nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0 || nfq_set_queue_maxlen(qh, QUEUE_MAXLEN) < 0) {
        perror("link-delay: configuring the queue");
        return 1;
    }
    int fd = nfq_fd(h);
    int size = 32 << 20, one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    /* an overrun drops packets (as a full queue on a link would) instead of failing the next read */
    setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);

    sigset_t block, empty;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, NULL);
    sigemptyset(&empty);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    static char bufs[BATCH][MSG_BYTES];
    struct mmsghdr msgs[BATCH];
    struct iovec iovs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iovs[i].iov_base = bufs[i];
        iovs[i].iov_len = MSG_BYTES;
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    printf("link-delay: queue %d ready: delay %g ms, jitter %g ms, loss %g%%%s\n", queue, delay_ms, jitter_ms, loss_pct,
           realtime ? ", SCHED_FIFO" : "");
    fflush(stdout);

    while (!stop) {
        for (;;) {
            int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
                if (errno == ENOBUFS) continue;
                perror("link-delay: recvmmsg");
                return 1;
            }
            for (int i = 0; i < n; i++) nfq_handle_packet(h, bufs[i], (int)msgs[i].msg_len);
            if (n < BATCH) break;
        }
        release_due();
        /* the wait is taken after the verdicts: reinjecting a batch runs the packets on through the stack in this
         * system call, which can take a while */
        struct pollfd pfd = {fd, POLLIN, 0};
        struct timespec ts, *tsp = &ts;
        {
            /* never sleep longer than IDLE_WAIT_NS: a missed wake-up then costs at most that */
            uint64_t now = now_ns();
            int64_t wait = !heap_len ? IDLE_WAIT_NS : heap[0].due_ns > now ? (int64_t)(heap[0].due_ns - now) : 0;
            if (wait > IDLE_WAIT_NS) wait = IDLE_WAIT_NS;
            ts.tv_sec = wait / 1000000000;
            ts.tv_nsec = wait % 1000000000;
        }
        if (ppoll(&pfd, 1, tsp, &empty) < 0 && errno != EINTR) {
            perror("link-delay: ppoll");
            return 1;
        }
    }
    while (heap_len) nfq_set_verdict(qh, heap_pop().id, NF_ACCEPT, 0, NULL);
    printf("link-delay: queue %d: %" PRIu64 " packets, %" PRIu64 " dropped (%.2f%%), at most %zu held, %" PRIu64
           " released more than 1 ms late (the latest by %.2f ms), %" PRIu64 " verdicts failed\n",
           queue, n_packets, n_dropped, n_packets ? 100.0 * (double)n_dropped / (double)n_packets : 0.0, heap_max, n_late,
           (double)max_late_ns / 1e6, n_verdict_errors);
    fflush(stdout);
    if (trace) fclose(trace);
    nfq_destroy_queue(qh);
    nfq_close(h);
    return 0;
}
