/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An empty program: meson links each layer library whole into it against
 * only the layers below, so a call that goes up a layer fails to link. */
int main(void)
{
	return 0;
}
