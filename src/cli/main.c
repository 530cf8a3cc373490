#include <stdio.h>

int main(void)
{
    puts("kiln " KN_VERSION);
    return 0;
}
