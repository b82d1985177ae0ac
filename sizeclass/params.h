/*
 * params.h — the inputs of the size-class generator.     Go: mksizeclasses.go
 *
 * mksizeclass.c derives every class from these numbers and nothing else.
 * Those that the runtime also needs are published in sizeclass.h under
 * SC_* names; mksizeclass.c asserts at compile time that both agree, so a
 * change here that is not mirrored there fails the build rather than
 * producing tables the inline lookups misindex.
 */
#ifndef GH_SIZECLASS_PARAMS_H
#define GH_SIZECLASS_PARAMS_H

/* 8 KiB pages: a span is a whole number of them. */
#define SC_GEN_PAGE_SHIFT 13
/* Largest small object; bigger requests get whole pages of their own. */
#define SC_GEN_MAX_SMALL_SIZE 32768
/* Sizes up to SMALL_SIZE_MAX are looked up in 8-byte steps... */
#define SC_GEN_SMALL_SIZE_DIV 8
#define SC_GEN_SMALL_SIZE_MAX 1024
/* ...larger ones in 128-byte steps, so every class above 1024 must be a
 * multiple of 128 or the coarse table could not tell two classes apart. */
#define SC_GEN_LARGE_SIZE_DIV 128

/* Candidate sizes advance by an alignment step that grows with the size.
 * 8 bytes from the start: every object holds at least one pointer word. */
#define SC_GEN_ALIGN_MIN 8
/* 16 bytes from 32: the heap bitmap assumes objects of 32 bytes and more
 * start on 16-byte boundaries. */
#define SC_GEN_ALIGN16_FROM 32
/* From 128 the step is size/8: consecutive classes then differ by at most
 * 12.5%, which bounds the round-up waste of a request. */
#define SC_GEN_ALIGN_FRAC_FROM 128
#define SC_GEN_ALIGN_FRAC 8
/* From 2048 the step stays at 256: finer than size/8, so large classes waste
 * less on round-up, and still a multiple of LARGE_SIZE_DIV. */
#define SC_GEN_ALIGN_CAP_FROM 2048
#define SC_GEN_ALIGN_CAP 256

/* A span's unusable tail (span bytes mod object size) must be at most
 * 1/TAIL_WASTE_DIV of the span: pages are added until it is. */
#define SC_GEN_TAIL_WASTE_DIV 8

/* The tiny allocator packs pointer-free requests below this size into one
 * block of a class of exactly this size (Go: malloc.go _TinySize). */
#define SC_GEN_TINY_SIZE 16

/* Division magic is a 32-bit multiplier: offset * magic >> 32. */
#define SC_GEN_MAGIC_BITS 32

/* Go 1.19 has 68 classes including the unused class 0; the tables and every
 * array sized by SC_NUM_SIZE_CLASSES rely on it. */
#define SC_GEN_NUM_CLASSES 68

#endif /* GH_SIZECLASS_PARAMS_H */
