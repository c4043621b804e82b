#include "poll_window.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using vduse::PollWindow;

TEST(PollWindow, StartsAtTheFloor)
{
	EXPECT_EQ(PollWindow(400us).current(), 50us);
	// A longest window below the floor is the window.
	EXPECT_EQ(PollWindow(20us).current(), 20us);
}

TEST(PollWindow, GrowsWhileWorkComesBackWithinTheLongest)
{
	// A target answering 300 µs after the request was sent.
	PollWindow w(400us);
	w.slept(250us); // 50 polled + 250 slept: within 400
	EXPECT_EQ(w.current(), 100us);
	w.slept(200us);
	EXPECT_EQ(w.current(), 200us);
	w.slept(100us);
	EXPECT_EQ(w.current(), 400us);
	w.slept(0us); // never past the longest
	EXPECT_EQ(w.current(), 400us);
}

TEST(PollWindow, ShrinksBackToTheFloorWhenIdle)
{
	PollWindow w(400us);
	for (int i = 0; i < 3; ++i)
		w.slept(10us);
	ASSERT_EQ(w.current(), 400us);
	w.slept(5ms); // idle: polling would have been spent for nothing
	EXPECT_EQ(w.current(), 200us);
	w.slept(1s);
	w.slept(1s);
	EXPECT_EQ(w.current(), 50us);
	w.slept(1s);
	EXPECT_EQ(w.current(), 50us);
}

TEST(PollWindow, ZeroNeverPolls)
{
	PollWindow w(0us);
	EXPECT_EQ(w.current(), 0us);
	w.slept(1us);
	EXPECT_EQ(w.current(), 0us);
	w.slept(1s);
	EXPECT_EQ(w.current(), 0us);
}

TEST(PollWindow, AGapJustPastTheLongestShrinks)
{
	PollWindow w(100us);
	w.slept(50us); // 50 + 50: grows
	EXPECT_EQ(w.current(), 100us);
	w.slept(1us); // 100 + 1 > 100: shrinks
	EXPECT_EQ(w.current(), 50us);
}
