// What the floor needs of Linux that Swift's Glibc module does not export: epoll and accept4.
// (epoll_event is packed on x86-64, so it is only touched from C.)
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>

static inline int floor_epoll_add(int epoll, int fd) {
    struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
}
static inline void *floor_epoll_events(int count) { return calloc((size_t)count, sizeof(struct epoll_event)); }
static inline int floor_epoll_wait(int epoll, void *events, int count) {
    return epoll_wait(epoll, (struct epoll_event *)events, count, -1);
}
static inline int floor_epoll_fd(void *events, int index) { return ((struct epoll_event *)events)[index].data.fd; }
static inline int floor_accept(int listener) { return accept4(listener, 0, 0, SOCK_NONBLOCK); }
static inline int floor_errno(void) { return errno; }
