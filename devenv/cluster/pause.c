/* The pod sandbox's first process: it holds the pod's namespaces open, reaps orphans, and exits on
   SIGINT or SIGTERM. The node builds it here (gcc -static) because no pause image can be pulled. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }
static void quit(int sig) { (void)sig; _exit(0); }

int main(void) {
    signal(SIGCHLD, reap);
    signal(SIGINT, quit);
    signal(SIGTERM, quit);
    for (;;) pause();
}
