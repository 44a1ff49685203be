/* SPDX-License-Identifier: MIT */
#pragma once
#include "build.h"

/* Artifact names of an output: final (in the output directory) and
 * temporary (in the work directory; renamed by cmd_build at the end). */
char *export_artifact_final(const struct build_ctx *ctx, enum slw_output o);
char *export_artifact_tmp(const struct build_ctx *ctx, enum slw_output o);

/* The live hybrid ISO of ctx->tree (export_iso.c). */
int export_iso(struct build_ctx *ctx);
