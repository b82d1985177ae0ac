/*
 * threads.c — threads handing heap objects to each other.
 *
 * PRODUCERS threads each allocate MESSAGES messages and append them to one
 * queue; the main thread takes them off and checks each. The queue is a heap
 * object reached from `queue`, a global registered with gc_add_roots. Every
 * pointer store into the queue, and into the global itself, goes through
 * GC_STORE: a store made by one thread while the collector is marking on
 * behalf of another must be seen, and root ranges are scanned before the
 * threads' frames, so they need the barrier as much as heap objects do.
 *
 * The rules for threads, as this program follows them:
 *   - A thread calls gc_thread_register before touching the heap and
 *     gc_thread_unregister, with its frames popped, before it ends.
 *   - Anything that may block (taking the mutex, waiting on the condition
 *     variable) is bracketed by gc_enter_blocking/gc_leave_blocking, so a
 *     collection never waits for a parked thread. Inside the bracket only
 *     C data is touched: the decision to wait reads `pending`, a plain
 *     counter under the mutex, never the heap queue.
 *   - The main thread forces a cycle every COLLECT_EVERY messages so
 *     collections run while producers allocate and publish.
 * Each message carries its sequence number twice, as a long and inside its
 * noscan text, so a message freed too early shows up as a mismatch.
 */
#include <goheap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define PRODUCERS 2
#define MESSAGES 20000
#define COLLECT_EVERY 5000

struct message {
    long seq;
    char *text; /* noscan: "producer/seq" */
    struct message *next;
};
GC_TYPE(message_type, struct message, text, next);

struct queue {
    struct message *head, *tail;
};
GC_TYPE(queue_type, struct queue, head, tail);

static struct queue *queue; /* a registered root */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static long pending;          /* messages in the queue; under lock */
static int producers_running; /* under lock */

/* Takes the mutex without holding up a collection while waiting for it. */
static void lock_queue(void) {
    gc_enter_blocking();
    pthread_mutex_lock(&lock);
    gc_leave_blocking();
}

static void *produce(void *arg) {
    long id = (long)arg;
    gc_thread_register();
    struct message *m = NULL;
    char *text = NULL;
    GC_FRAME(f, &m, &text);
    for (long seq = 0; seq < MESSAGES; seq++) {
        text = gc_alloc(32, NULL);
        snprintf(text, 32, "%ld/%ld", id, seq);
        m = gc_alloc(sizeof *m, &message_type);
        m->seq = seq;
        GC_STORE(m->text, text);
        lock_queue();
        if (queue->tail)
            GC_STORE(queue->tail->next, m);
        else
            GC_STORE(queue->head, m);
        GC_STORE(queue->tail, m);
        pending++;
        pthread_cond_signal(&ready);
        pthread_mutex_unlock(&lock);
    }
    GC_UNFRAME(f);
    lock_queue();
    producers_running--;
    pthread_cond_broadcast(&ready);
    pthread_mutex_unlock(&lock);
    gc_thread_unregister();
    return NULL;
}

int main(void) {
    gc_init();
    gc_add_roots(&queue, sizeof queue);
    GC_STORE(queue, gc_alloc(sizeof *queue, &queue_type)); /* roots take the barrier too */
    producers_running = PRODUCERS;

    pthread_t threads[PRODUCERS];
    for (long i = 0; i < PRODUCERS; i++)
        pthread_create(&threads[i], NULL, produce, (void *)i);

    long received = 0, bad = 0, next_seq[PRODUCERS] = {0};
    struct message *m = NULL;
    GC_FRAME(f, &m);
    for (;;) {
        gc_enter_blocking();
        pthread_mutex_lock(&lock);
        while (pending == 0 && producers_running > 0)
            pthread_cond_wait(&ready, &lock);
        gc_leave_blocking();
        if (pending == 0) { /* every producer has finished */
            pthread_mutex_unlock(&lock);
            break;
        }
        m = queue->head;
        GC_STORE(queue->head, m->next);
        if (!queue->head)
            GC_STORE(queue->tail, NULL);
        pending--;
        pthread_mutex_unlock(&lock);

        long id, seq;
        if (sscanf(m->text, "%ld/%ld", &id, &seq) != 2 || id < 0 || id >= PRODUCERS ||
            seq != m->seq || seq != next_seq[id]++)
            bad++;
        if (++received % COLLECT_EVERY == 0)
            gc_collect();
    }
    GC_UNFRAME(f);

    /* Joining blocks: parked, this thread does not hold up a collection
     * that a producer, still registered, may be waiting on. */
    gc_enter_blocking();
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(threads[i], NULL);
    gc_leave_blocking();
    gc_stats stats;
    gc_read_stats(&stats);
    printf("threads: %ld messages received, %ld bad, %u GC cycles\n", received, bad,
           stats.num_gc);
    gc_remove_roots(&queue);
    gc_shutdown();

    int ok = received == (long)PRODUCERS * MESSAGES && bad == 0;
    if (!ok)
        fprintf(stderr, "threads: FAILED\n");
    return ok ? 0 : 1;
}
