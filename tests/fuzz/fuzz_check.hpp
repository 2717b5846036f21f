#pragma once
// The fuzzers' invariant check: a violated invariant is a crash libFuzzer
// records, with the input that caused it.

#define CHECK(cond)                    \
    do {                               \
        if (!(cond)) __builtin_trap(); \
    } while (0)
