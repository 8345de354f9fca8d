#include <stdio.h>
int main(void){ unsigned long x=1; for (unsigned long i=0;i<560000000UL;i++){ x = x*6364136223846793005UL + 1442695040888963407UL; } printf("%lu\n", x&1); return 0; }
