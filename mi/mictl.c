#include <stdio.h>
int main(void) { puts("mictl: not yet"); return 2; }
