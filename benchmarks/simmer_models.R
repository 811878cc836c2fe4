# W1 and W2 written in R simmer, for the cross-engine benchmark (benchmarks/run.py).
#
# Usage: Rscript benchmarks/simmer_models.R <w1|w2> <horizon_hours> <seed> <warmup_hours>
#
# Prints one line of JSON on stdout:
#   {"engine":"simmer","version":...,"workload":...,"seed":...,"sim_seconds":...,
#    "arrivals":...,"node_waits":[...]}
# sim_seconds is the elapsed time (proc.time) of building the model, running it to the
# horizon and pulling get_mon_arrivals(per_resource = TRUE); R start-up is not included.
# node_waits: mean wait in queue per visit, per node (W1: serve; W2: A, B, C), over visits
# that joined the queue at or after the warm-up and were served (released) before the horizon.
# In simmer's per-resource monitor, start_time is when the arrival reached the resource
# (the seize), end_time when it released it and activity_time the time spent in timeouts
# while holding it, so wait in queue = end_time - start_time - activity_time.

suppressPackageStartupMessages(library(simmer))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 4)
  stop("usage: Rscript simmer_models.R <w1|w2> <horizon_hours> <seed> <warmup_hours>")
workload <- args[1]
horizon <- as.numeric(args[2])
seed <- as.integer(args[3])
warmup <- as.numeric(args[4])

# W1: M/M/10, lambda = 9 per hour, mu = 1 per hour per server, FIFO, infinite queue.
build_w1 <- function() {
  customer <- trajectory("customer") %>%
    seize("serve") %>%
    timeout(function() rexp(1, 1)) %>%
    release("serve")

  simmer("w1") %>%
    add_resource("serve", capacity = 10, queue_size = Inf) %>%
    add_generator("customer", customer, function() rexp(1, 9))
}

# W2: Poisson(5) into A (c = 3, mu = 2); after A, 70% to B (c = 2, mu = 2.5) and 30% to
# C (c = 4, mu = 1); after B, 20% go back to A (a rollback to the seize of A), else leave.
build_w2 <- function() {
  customer <- trajectory("customer") %>%
    seize("A") %>%
    timeout(function() rexp(1, 2)) %>%
    release("A") %>%
    branch(
      function() if (runif(1) < 0.7) 1 else 2, continue = c(TRUE, TRUE),
      trajectory("B") %>%
        seize("B") %>%
        timeout(function() rexp(1, 2.5)) %>%
        release("B") %>%
        # 7 activities back: release, timeout, seize (B), branch, release, timeout, seize (A)
        rollback(7, check = function() runif(1) < 0.2),
      trajectory("C") %>%
        seize("C") %>%
        timeout(function() rexp(1, 1)) %>%
        release("C")
    )

  simmer("w2") %>%
    add_resource("A", capacity = 3, queue_size = Inf) %>%
    add_resource("B", capacity = 2, queue_size = Inf) %>%
    add_resource("C", capacity = 4, queue_size = Inf) %>%
    add_generator("customer", customer, function() rexp(1, 5))
}

nodes <- switch(workload, w1 = "serve", w2 = c("A", "B", "C"),
                stop("unknown workload: ", workload))
build <- switch(workload, w1 = build_w1, w2 = build_w2)

set.seed(seed)
t0 <- proc.time()[["elapsed"]]
env <- build() %>% run(until = horizon)
visits <- get_mon_arrivals(env, per_resource = TRUE)
sim_seconds <- proc.time()[["elapsed"]] - t0

# The source creates each arrival one inter-arrival ahead, so one generated arrival is
# still pending beyond the horizon: it has not arrived and is not counted.
arrivals <- get_n_generated(env, "customer") - 1

kept <- visits[visits$start_time >= warmup, ]
wait <- kept$end_time - kept$start_time - kept$activity_time
node_waits <- vapply(nodes, function(n) mean(wait[kept$resource == n]), numeric(1))

# Peak resident set of this R process (VmHWM), as a cross-check of the parent's ru_maxrss.
status <- readLines("/proc/self/status")
vmhwm_kb <- as.numeric(gsub("[^0-9]", "", grep("^VmHWM:", status, value = TRUE)))

cat(sprintf(
  paste0('{"engine":"simmer","version":"%s","workload":"%s","seed":%d,',
         '"sim_seconds":%.4f,"arrivals":%d,"node_waits":[%s],"vmhwm_mb":%.1f}\n'),
  as.character(packageVersion("simmer")), workload, seed, sim_seconds,
  as.integer(arrivals), paste(sprintf("%.6f", node_waits), collapse = ","),
  vmhwm_kb / 1024))
