#include <stdint.h>

/* A murmur-style finaliser over a running state. */
uint32_t c_mix(uint32_t state, uint32_t value) {
    uint32_t h = state ^ (value * 0x9e3779b1u);
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    return h ^ (h >> 16);
}
