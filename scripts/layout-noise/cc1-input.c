#include <string.h>
#include <stdlib.h>
struct s{int a,b;long c;char n[32];};
static int helper0(struct s *p, int x) { int acc = 18; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 3; else acc ^= (int)p[k].c; } return acc; }
long fn0(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper0(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 35; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper0(p + 1, n / 2); }
static int helper1(struct s *p, int x) { int acc = 16; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 9; else acc ^= (int)p[k].c; } return acc; }
long fn1(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper1(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 60; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper1(p + 1, n / 2); }
static int helper2(struct s *p, int x) { int acc = 61; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 8; else acc ^= (int)p[k].c; } return acc; }
long fn2(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper2(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 29; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper2(p + 1, n / 2); }
static int helper3(struct s *p, int x) { int acc = 13; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 9; else acc ^= (int)p[k].c; } return acc; }
long fn3(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper3(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 6; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper3(p + 1, n / 2); }
static int helper4(struct s *p, int x) { int acc = 50; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 8; else acc ^= (int)p[k].c; } return acc; }
long fn4(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper4(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 3; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper4(p + 1, n / 2); }
static int helper5(struct s *p, int x) { int acc = 90; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 9; else acc ^= (int)p[k].c; } return acc; }
long fn5(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper5(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 37; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper5(p + 1, n / 2); }
static int helper6(struct s *p, int x) { int acc = 93; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 5; else acc ^= (int)p[k].c; } return acc; }
long fn6(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper6(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 16; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper6(p + 1, n / 2); }
static int helper7(struct s *p, int x) { int acc = 41; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 2; else acc ^= (int)p[k].c; } return acc; }
long fn7(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper7(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 5; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper7(p + 1, n / 2); }
static int helper8(struct s *p, int x) { int acc = 4; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 2; else acc ^= (int)p[k].c; } return acc; }
long fn8(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper8(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 51; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper8(p + 1, n / 2); }
static int helper9(struct s *p, int x) { int acc = 88; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 5; else acc ^= (int)p[k].c; } return acc; }
long fn9(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper9(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 57; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper9(p + 1, n / 2); }
static int helper10(struct s *p, int x) { int acc = 93; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 2; else acc ^= (int)p[k].c; } return acc; }
long fn10(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper10(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 70; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper10(p + 1, n / 2); }
static int helper11(struct s *p, int x) { int acc = 29; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 9; else acc ^= (int)p[k].c; } return acc; }
long fn11(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper11(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 66; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper11(p + 1, n / 2); }
static int helper12(struct s *p, int x) { int acc = 71; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 5; else acc ^= (int)p[k].c; } return acc; }
long fn12(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper12(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 47; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper12(p + 1, n / 2); }
static int helper13(struct s *p, int x) { int acc = 30; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 5; else acc ^= (int)p[k].c; } return acc; }
long fn13(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper13(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 61; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper13(p + 1, n / 2); }
static int helper14(struct s *p, int x) { int acc = 38; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 2; else acc ^= (int)p[k].c; } return acc; }
long fn14(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper14(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 56; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper14(p + 1, n / 2); }
static int helper15(struct s *p, int x) { int acc = 72; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 3; else acc ^= (int)p[k].c; } return acc; }
long fn15(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper15(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 26; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper15(p + 1, n / 2); }
static int helper16(struct s *p, int x) { int acc = 81; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 6; else acc ^= (int)p[k].c; } return acc; }
long fn16(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper16(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 18; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper16(p + 1, n / 2); }
static int helper17(struct s *p, int x) { int acc = 96; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 7; else acc ^= (int)p[k].c; } return acc; }
long fn17(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper17(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 67; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper17(p + 1, n / 2); }
static int helper18(struct s *p, int x) { int acc = 55; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 5; else acc ^= (int)p[k].c; } return acc; }
long fn18(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper18(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 41; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper18(p + 1, n / 2); }
static int helper19(struct s *p, int x) { int acc = 37; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 9; else acc ^= (int)p[k].c; } return acc; }
long fn19(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper19(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 67; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper19(p + 1, n / 2); }
static int helper20(struct s *p, int x) { int acc = 51; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 2; else acc ^= (int)p[k].c; } return acc; }
long fn20(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper20(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 64; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper20(p + 1, n / 2); }
static int helper21(struct s *p, int x) { int acc = 32; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 8; else acc ^= (int)p[k].c; } return acc; }
long fn21(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper21(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 56; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper21(p + 1, n / 2); }
static int helper22(struct s *p, int x) { int acc = 86; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 4; else acc ^= (int)p[k].c; } return acc; }
long fn22(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper22(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 49; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper22(p + 1, n / 2); }
static int helper23(struct s *p, int x) { int acc = 71; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 7; else acc ^= (int)p[k].c; } return acc; }
long fn23(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper23(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 14; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper23(p + 1, n / 2); }
static int helper24(struct s *p, int x) { int acc = 57; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 3; else acc ^= (int)p[k].c; } return acc; }
long fn24(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper24(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 23; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper24(p + 1, n / 2); }
static int helper25(struct s *p, int x) { int acc = 67; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 8; else acc ^= (int)p[k].c; } return acc; }
long fn25(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper25(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 50; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper25(p + 1, n / 2); }
static int helper26(struct s *p, int x) { int acc = 63; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 2; else acc ^= (int)p[k].c; } return acc; }
long fn26(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper26(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 63; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper26(p + 1, n / 2); }
static int helper27(struct s *p, int x) { int acc = 6; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 6; else acc ^= (int)p[k].c; } return acc; }
long fn27(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper27(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 77; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper27(p + 1, n / 2); }
static int helper28(struct s *p, int x) { int acc = 51; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 4; else acc ^= (int)p[k].c; } return acc; }
long fn28(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper28(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 24; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper28(p + 1, n / 2); }
static int helper29(struct s *p, int x) { int acc = 65; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 5; else acc ^= (int)p[k].c; } return acc; }
long fn29(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper29(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 4; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper29(p + 1, n / 2); }
static int helper30(struct s *p, int x) { int acc = 99; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 5; else acc ^= (int)p[k].c; } return acc; }
long fn30(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper30(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 72; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper30(p + 1, n / 2); }
static int helper31(struct s *p, int x) { int acc = 71; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 5; else acc ^= (int)p[k].c; } return acc; }
long fn31(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper31(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 54; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper31(p + 1, n / 2); }
static int helper32(struct s *p, int x) { int acc = 66; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 7; else acc ^= (int)p[k].c; } return acc; }
long fn32(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper32(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 76; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper32(p + 1, n / 2); }
static int helper33(struct s *p, int x) { int acc = 46; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 9; else acc ^= (int)p[k].c; } return acc; }
long fn33(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper33(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 37; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper33(p + 1, n / 2); }
static int helper34(struct s *p, int x) { int acc = 85; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 2; else acc ^= (int)p[k].c; } return acc; }
long fn34(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper34(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 52; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper34(p + 1, n / 2); }
static int helper35(struct s *p, int x) { int acc = 95; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 4; else acc ^= (int)p[k].c; } return acc; }
long fn35(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper35(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 69; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper35(p + 1, n / 2); }
static int helper36(struct s *p, int x) { int acc = 72; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 5; else acc ^= (int)p[k].c; } return acc; }
long fn36(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper36(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 57; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper36(p + 1, n / 2); }
static int helper37(struct s *p, int x) { int acc = 8; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 9; else acc ^= (int)p[k].c; } return acc; }
long fn37(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper37(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 49; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper37(p + 1, n / 2); }
static int helper38(struct s *p, int x) { int acc = 73; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 5; else acc ^= (int)p[k].c; } return acc; }
long fn38(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper38(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 67; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper38(p + 1, n / 2); }
static int helper39(struct s *p, int x) { int acc = 53; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 9; else acc ^= (int)p[k].c; } return acc; }
long fn39(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper39(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 48; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper39(p + 1, n / 2); }
static int helper40(struct s *p, int x) { int acc = 54; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 7; else acc ^= (int)p[k].c; } return acc; }
long fn40(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper40(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 3; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper40(p + 1, n / 2); }
static int helper41(struct s *p, int x) { int acc = 69; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 7; else acc ^= (int)p[k].c; } return acc; }
long fn41(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper41(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 61; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper41(p + 1, n / 2); }
static int helper42(struct s *p, int x) { int acc = 77; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 2; else acc ^= (int)p[k].c; } return acc; }
long fn42(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper42(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 32; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper42(p + 1, n / 2); }
static int helper43(struct s *p, int x) { int acc = 82; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 4; else acc ^= (int)p[k].c; } return acc; }
long fn43(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper43(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 73; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper43(p + 1, n / 2); }
static int helper44(struct s *p, int x) { int acc = 75; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 4; else acc ^= (int)p[k].c; } return acc; }
long fn44(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper44(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 14; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper44(p + 1, n / 2); }
static int helper45(struct s *p, int x) { int acc = 71; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 6; else acc ^= (int)p[k].c; } return acc; }
long fn45(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper45(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 7; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper45(p + 1, n / 2); }
static int helper46(struct s *p, int x) { int acc = 87; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 3; else acc ^= (int)p[k].c; } return acc; }
long fn46(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper46(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 13; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper46(p + 1, n / 2); }
static int helper47(struct s *p, int x) { int acc = 3; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 9; else acc ^= (int)p[k].c; } return acc; }
long fn47(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper47(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 4; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper47(p + 1, n / 2); }
static int helper48(struct s *p, int x) { int acc = 97; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 6; else acc ^= (int)p[k].c; } return acc; }
long fn48(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper48(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 34; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper48(p + 1, n / 2); }
static int helper49(struct s *p, int x) { int acc = 35; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 3; else acc ^= (int)p[k].c; } return acc; }
long fn49(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper49(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 26; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper49(p + 1, n / 2); }
static int helper50(struct s *p, int x) { int acc = 45; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 6; else acc ^= (int)p[k].c; } return acc; }
long fn50(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper50(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 11; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper50(p + 1, n / 2); }
static int helper51(struct s *p, int x) { int acc = 22; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 4; else acc ^= (int)p[k].c; } return acc; }
long fn51(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper51(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 35; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper51(p + 1, n / 2); }
static int helper52(struct s *p, int x) { int acc = 68; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 4; else acc ^= (int)p[k].c; } return acc; }
long fn52(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper52(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 37; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper52(p + 1, n / 2); }
static int helper53(struct s *p, int x) { int acc = 83; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 6; else acc ^= (int)p[k].c; } return acc; }
long fn53(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper53(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 61; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper53(p + 1, n / 2); }
static int helper54(struct s *p, int x) { int acc = 90; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 7; else acc ^= (int)p[k].c; } return acc; }
long fn54(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper54(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 66; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper54(p + 1, n / 2); }
static int helper55(struct s *p, int x) { int acc = 61; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 3; else acc ^= (int)p[k].c; } return acc; }
long fn55(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper55(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 6; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper55(p + 1, n / 2); }
static int helper56(struct s *p, int x) { int acc = 40; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 8; else acc ^= (int)p[k].c; } return acc; }
long fn56(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper56(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 46; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper56(p + 1, n / 2); }
static int helper57(struct s *p, int x) { int acc = 54; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 5; else acc ^= (int)p[k].c; } return acc; }
long fn57(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper57(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 36; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper57(p + 1, n / 2); }
static int helper58(struct s *p, int x) { int acc = 14; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 6; else acc ^= (int)p[k].c; } return acc; }
long fn58(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper58(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 68; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper58(p + 1, n / 2); }
static int helper59(struct s *p, int x) { int acc = 27; for (int k = 0; k < x; k++) { if (p[k].a > acc) acc += p[k].b * 8; else acc ^= (int)p[k].c; } return acc; }
long fn59(struct s *p, int n) { long t = 0; switch (n & 7) { case 0: t = helper59(p, n); break; case 1: t = strlen(p->n); break; case 2: t = n * 5; break; default: memcpy(p->n, "abc", 4); t = p->a; } return t + helper59(p + 1, n / 2); }
