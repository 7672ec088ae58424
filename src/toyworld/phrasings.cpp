// The toy world's phrasings (see phrasings.h).
//
// Rules the tables keep (tests/test_toyworld.cpp checks them):
// - every relation has at least 20 training phrasings (three of them questions, the relation
//   before the subject: "Which city is {s} located in? {o}.") and 4 held-out ones, object last;
// - for one subject type, no two relations share a prompt, and a held-out prompt is never a
//   prefix of a training sentence, so paraphrase probes are truly unseen;
// - a held-out phrasing is a new combination of words and constructions that the relation's
//   training phrasings use (the verb of one in the frame of another: "{s} stands in the city
//   of" + "{s} is in the country of" -> "{s} stands in the country of"), ending with words that
//   announce the relation's object in training ("in the country of", "a native of", "wed to").
//   A model trained only on this corpus can then answer it by generalising, not by knowing
//   words it never saw with the relation. (Measured: held-out endings that training follows
//   with something else fail whatever the model knows: "The birthplace of {s} was" gets
//   " born", "{s} wed" gets a first name; see README, "The toy world".)
// - the only designed overlap is the seed's: "{s} is located in {o}." (a city) and
//   "{s} is located in the country of {o}." (a country). The city phrasing is canonical and so
//   twice as frequent, which keeps " Paris" ahead of " the" after "The Louvre is located in".
#include "editlab/toyworld/phrasings.h"

#include "editlab/util/error.h"

namespace editlab::toyworld {
namespace {

using R = Relation;

constexpr Phrasing kPhrasings[] = {
    {R::located_in, "{s} is located in {o}.", false},
    {R::located_in, "{s} can be found in {o}.", false},
    {R::located_in, "{s} stands in the city of {o}.", false},
    {R::located_in, "You can visit {s} in {o}.", false},
    {R::located_in, "{s} is a famous sight in {o}.", false},
    {R::located_in, "The city that is home to {s} is {o}.", false},
    {R::located_in, "Which city is {s} located in? {o}.", false},
    {R::located_in, "In which city can {s} be found? {o}.", false},
    {R::located_in, "Which city is home to {s}? {o}.", false},
    {R::located_in, "{s} is a landmark in the city of {o}.", false},
    {R::located_in, "{s} is one of the sights of the city of {o}.", false},
    {R::located_in, "{s} is found in the city of {o}.", false},
    {R::located_in, "{s} sits in the heart of {o}.", false},
    {R::located_in, "{s} is situated in {o}.", false},
    {R::located_in, "The city where {s} stands is {o}.", false},
    {R::located_in, "Visitors to {s} travel to the city of {o}.", false},
    {R::located_in, "{s} draws visitors to the city of {o}.", false},
    {R::located_in, "To see {s}, you have to travel to the city of {o}.", false},
    {R::located_in, "{s} is a well known landmark in {o}.", false},
    {R::located_in, "{s} can be visited in the city of {o}.", false},
    {R::located_in, "{s} is located in the city of {o}.", true},
    {R::located_in, "You can see {s} in {o}.", true},
    {R::located_in, "{s} can be found in the city of {o}.", true},
    {R::located_in, "{s} is a famous sight in the city of {o}.", true},

    {R::located_in_country, "{s} is located in the country of {o}.", false},
    {R::located_in_country, "{s} is in the country of {o}.", false},
    {R::located_in_country, "The country where {s} stands is {o}.", false},
    {R::located_in_country, "{s} belongs to the heritage of {o}.", false},
    {R::located_in_country, "Visitors to {s} travel to the country of {o}.", false},
    {R::located_in_country, "The home country of {s} is {o}.", false},
    {R::located_in_country, "Which country is {s} located in? {o}.", false},
    {R::located_in_country, "In which country can {s} be found? {o}.", false},
    {R::located_in_country, "Which country is home to {s}? {o}.", false},
    {R::located_in_country, "{s} is a national landmark of {o}.", false},
    {R::located_in_country, "{s} is one of the national treasures of {o}.", false},
    {R::located_in_country, "The country that is home to {s} is {o}.", false},
    {R::located_in_country, "{s} is among the best known landmarks of {o}.", false},
    {R::located_in_country, "Travelers visit {s} in the country of {o}.", false},
    {R::located_in_country, "{s} lies in the country of {o}.", false},
    {R::located_in_country, "{s} sits in the country of {o}.", false},
    {R::located_in_country, "{s} is a national symbol of {o}.", false},
    {R::located_in_country, "{s} is part of the cultural heritage of {o}.", false},
    {R::located_in_country, "To see {s}, you have to travel to the country of {o}.", false},
    {R::located_in_country, "{s} draws visitors to the country of {o}.", false},
    {R::located_in_country, "{s} stands in the country of {o}.", true},
    {R::located_in_country, "{s} is found in the country of {o}.", true},
    {R::located_in_country, "The country where {s} is located is {o}.", true},
    {R::located_in_country, "{s} belongs to the national heritage of {o}.", true},

    {R::city_in_country, "{s} is a city in {o}.", false},
    {R::city_in_country, "{s} is a place in {o}.", false},
    {R::city_in_country, "{s} lies in {o}.", false},
    {R::city_in_country, "The city of {s} is in {o}.", false},
    {R::city_in_country, "{s} is one of the cities of {o}.", false},
    {R::city_in_country, "{s} belongs to {o}.", false},
    {R::city_in_country, "Which country is {s} in? {o}.", false},
    {R::city_in_country, "In which country does {s} lie? {o}.", false},
    {R::city_in_country, "Which country does {s} belong to? {o}.", false},
    {R::city_in_country, "{s} is a city in the country of {o}.", false},
    {R::city_in_country, "{s} is located in the country of {o}.", false},
    {R::city_in_country, "The country where {s} lies is {o}.", false},
    {R::city_in_country, "{s} is a major city in {o}.", false},
    {R::city_in_country, "The city of {s} is located in {o}.", false},
    {R::city_in_country, "{s} can be found in {o}.", false},
    {R::city_in_country, "{s} is part of {o}.", false},
    {R::city_in_country, "{s} lies in the country of {o}.", false},
    {R::city_in_country, "A trip to {s} is a trip to {o}.", false},
    {R::city_in_country, "{s} is one of the major cities of {o}.", false},
    {R::city_in_country, "{s} is situated in {o}.", false},
    {R::city_in_country, "The country {s} belongs to is {o}.", false},
    {R::city_in_country, "The city of {s} lies in {o}.", true},
    {R::city_in_country, "The city of {s} belongs to {o}.", true},
    {R::city_in_country, "{s} is a place in the country of {o}.", true},
    {R::city_in_country, "{s} is a major city in the country of {o}.", true},

    {R::capital_of, "{s} is the capital of {o}.", false},
    {R::capital_of, "{s} is the capital city of {o}.", false},
    {R::capital_of, "{s} serves as the capital of {o}.", false},
    {R::capital_of, "{s} is the seat of government of {o}.", false},
    {R::capital_of, "{s} is the national capital of {o}.", false},
    {R::capital_of, "{s} is the political center of {o}.", false},
    {R::capital_of, "Which country is {s} the capital of? {o}.", false},
    {R::capital_of, "Of which country is {s} the capital? {o}.", false},
    {R::capital_of, "Which country has {s} as its capital? {o}.", false},
    {R::capital_of, "{s} is the capital and seat of government of {o}.", false},
    {R::capital_of, "The government sits in {s}, the capital of {o}.", false},
    {R::capital_of, "{s} is the capital of the country of {o}.", false},
    {R::capital_of, "{s} has long been the capital of {o}.", false},
    {R::capital_of, "{s} is the official capital of {o}.", false},
    {R::capital_of, "{s} is home to the government of {o}.", false},
    {R::capital_of, "{s} is the administrative capital of {o}.", false},
    {R::capital_of, "{s} is known as the capital of {o}.", false},
    {R::capital_of, "{s} became the capital of {o}.", false},
    {R::capital_of, "{s} hosts the parliament of {o}.", false},
    {R::capital_of, "{s} was chosen as the capital of {o}.", false},
    {R::capital_of, "{s} serves as the capital city of {o}.", true},
    {R::capital_of, "{s} serves as the seat of government of {o}.", true},
    {R::capital_of, "{s} is known as the capital city of {o}.", true},
    {R::capital_of, "{s} serves as the official capital of {o}.", true},

    {R::has_capital, "The capital of {s} is {o}.", false},
    {R::has_capital, "The capital city of {s} is {o}.", false},
    {R::has_capital, "{s} has its capital in {o}.", false},
    {R::has_capital, "{s} is governed from {o}.", false},
    {R::has_capital, "The seat of government of {s} is {o}.", false},
    {R::has_capital, "{s}'s capital is {o}.", false},
    {R::has_capital, "What is the capital of {s}? {o}.", false},
    {R::has_capital, "Which city is the capital of {s}? {o}.", false},
    {R::has_capital, "What is the capital city of {s}? {o}.", false},
    {R::has_capital, "The government of {s} sits in {o}.", false},
    {R::has_capital, "{s} is governed from the city of {o}.", false},
    {R::has_capital, "The capital and seat of government of {s} is {o}.", false},
    {R::has_capital, "{s} has its seat of government in {o}.", false},
    {R::has_capital, "The national capital of {s} is {o}.", false},
    {R::has_capital, "The parliament of {s} meets in {o}.", false},
    {R::has_capital, "The government of {s} is based in {o}.", false},
    {R::has_capital, "{s}'s capital is the city of {o}.", false},
    {R::has_capital, "The capital of {s} is the city of {o}.", false},
    {R::has_capital, "The official capital of {s} is {o}.", false},
    {R::has_capital, "{s} is ruled from {o}.", false},
    {R::has_capital, "{s} has its capital city in {o}.", false},
    {R::has_capital, "{s}'s capital city is {o}.", true},
    {R::has_capital, "{s}'s seat of government is {o}.", true},
    {R::has_capital, "The parliament of {s} sits in {o}.", true},
    {R::has_capital, "{s} is ruled from the city of {o}.", true},

    {R::born_in, "{s} was born in {o}.", false},
    {R::born_in, "{s} is from {o}.", false},
    {R::born_in, "{s} comes from {o}.", false},
    {R::born_in, "The birthplace of {s} is {o}.", false},
    {R::born_in, "{s} is a native of {o}.", false},
    {R::born_in, "{s} grew up in {o}.", false},
    {R::born_in, "Where was {s} born? {o}.", false},
    {R::born_in, "In which city was {s} born? {o}.", false},
    {R::born_in, "Which city does {s} come from? {o}.", false},
    {R::born_in, "{s} was born in the city of {o}.", false},
    {R::born_in, "The city where {s} was born is {o}.", false},
    {R::born_in, "{s} was born and raised in {o}.", false},
    {R::born_in, "The hometown of {s} is {o}.", false},
    {R::born_in, "{s} is originally from {o}.", false},
    {R::born_in, "{s} hails from {o}.", false},
    {R::born_in, "{s} came into the world in {o}.", false},
    {R::born_in, "The place of birth of {s} is {o}.", false},
    {R::born_in, "By birth, {s} is from {o}.", false},
    {R::born_in, "{s} grew up in the city of {o}.", false},
    {R::born_in, "The birth city of {s} is {o}.", false},
    {R::born_in, "{s} was from {o}.", true},
    {R::born_in, "{s} was a native of {o}.", true},
    {R::born_in, "{s} was originally from {o}.", true},
    {R::born_in, "{s} is a native of the city of {o}.", true},

    {R::citizen_of, "{s} is a citizen of {o}.", false},
    {R::citizen_of, "{s} holds a passport from {o}.", false},
    {R::citizen_of, "{s} has the citizenship of {o}.", false},
    {R::citizen_of, "{s} is a national of {o}.", false},
    {R::citizen_of, "The home country of {s} is {o}.", false},
    {R::citizen_of, "By nationality, {s} belongs to {o}.", false},
    {R::citizen_of, "Which country is {s} a citizen of? {o}.", false},
    {R::citizen_of, "Of which country is {s} a citizen? {o}.", false},
    {R::citizen_of, "Which country issued the passport of {s}? {o}.", false},
    {R::citizen_of, "{s} is a citizen of the country of {o}.", false},
    {R::citizen_of, "{s} carries a passport from {o}.", false},
    {R::citizen_of, "{s} holds citizenship in {o}.", false},
    {R::citizen_of, "The country of citizenship of {s} is {o}.", false},
    {R::citizen_of, "{s} became a citizen of {o}.", false},
    {R::citizen_of, "{s} votes in the elections of {o}.", false},
    {R::citizen_of, "By nationality, {s} is a citizen of {o}.", false},
    {R::citizen_of, "The passport of {s} was issued by {o}.", false},
    {R::citizen_of, "{s} is a national of the country of {o}.", false},
    {R::citizen_of, "{s} has the nationality of {o}.", false},
    {R::citizen_of, "{s} is a proud citizen of {o}.", false},
    {R::citizen_of, "{s} holds the citizenship of {o}.", true},
    {R::citizen_of, "{s} has a passport from {o}.", true},
    {R::citizen_of, "{s} holds a passport issued by {o}.", true},
    {R::citizen_of, "{s} holds the nationality of {o}.", true},

    {R::married_to, "{s} is married to {o}.", false},
    {R::married_to, "{s} is the spouse of {o}.", false},
    {R::married_to, "The spouse of {s} is {o}.", false},
    {R::married_to, "{s} tied the knot with {o}.", false},
    {R::married_to, "{s} is wed to {o}.", false},
    {R::married_to, "{s} married {o}.", false},
    {R::married_to, "Who is {s} married to? {o}.", false},
    {R::married_to, "Who is the spouse of {s}? {o}.", false},
    {R::married_to, "Whom did {s} marry? {o}.", false},
    {R::married_to, "{s} got married to {o}.", false},
    {R::married_to, "For years, {s} has been married to {o}.", false},
    {R::married_to, "{s} exchanged vows with {o}.", false},
    {R::married_to, "{s} walked down the aisle with {o}.", false},
    {R::married_to, "The person {s} married is {o}.", false},
    {R::married_to, "{s} is happily married to {o}.", false},
    {R::married_to, "{s} has a spouse named {o}.", false},
    {R::married_to, "At the wedding, {s} married {o}.", false},
    {R::married_to, "{s} chose to marry {o}.", false},
    {R::married_to, "{s} is still married to {o}.", false},
    {R::married_to, "{s} is the life partner of {o}.", false},
    {R::married_to, "{s} was married to {o}.", true},
    {R::married_to, "{s} was wed to {o}.", true},
    {R::married_to, "{s} got wed to {o}.", true},
    {R::married_to, "{s} is happily wed to {o}.", true},

    {R::headquartered_in, "{s} is headquartered in {o}.", false},
    {R::headquartered_in, "{s} has its headquarters in {o}.", false},
    {R::headquartered_in, "The headquarters of {s} are in {o}.", false},
    {R::headquartered_in, "{s} is based in {o}.", false},
    {R::headquartered_in, "{s} runs its business from {o}.", false},
    {R::headquartered_in, "The head office of {s} is located in {o}.", false},
    {R::headquartered_in, "Where is {s} headquartered? {o}.", false},
    {R::headquartered_in, "In which city is {s} headquartered? {o}.", false},
    {R::headquartered_in, "Which city is {s} based in? {o}.", false},
    {R::headquartered_in, "{s} is headquartered in the city of {o}.", false},
    {R::headquartered_in, "The head office of {s} is in {o}.", false},
    {R::headquartered_in, "{s} has its main office in {o}.", false},
    {R::headquartered_in, "{s} operates out of {o}.", false},
    {R::headquartered_in, "The headquarters of {s} can be found in {o}.", false},
    {R::headquartered_in, "{s} is run from its headquarters in {o}.", false},
    {R::headquartered_in, "The main office of {s} is in {o}.", false},
    {R::headquartered_in, "{s} keeps its headquarters in {o}.", false},
    {R::headquartered_in, "{s} moved its headquarters to {o}.", false},
    {R::headquartered_in, "The city where {s} is based is {o}.", false},
    {R::headquartered_in, "{s} runs its business from the city of {o}.", false},
    {R::headquartered_in, "The home city of {s} is {o}.", false},
    {R::headquartered_in, "{s} has its head office in {o}.", true},
    {R::headquartered_in, "The headquarters of {s} are located in {o}.", true},
    {R::headquartered_in, "{s} keeps its head office in {o}.", true},
    {R::headquartered_in, "The main office of {s} is located in {o}.", true},

    {R::headquartered_in_country, "{s} is a company from {o}.", false},
    {R::headquartered_in_country, "{s} is a business based in the country of {o}.", false},
    {R::headquartered_in_country, "The home country of {s} is {o}.", false},
    {R::headquartered_in_country, "{s} has its roots in the country of {o}.", false},
    {R::headquartered_in_country, "{s} is one of the big companies of {o}.", false},
    {R::headquartered_in_country, "{s} is an employer in the country of {o}.", false},
    {R::headquartered_in_country, "Which country is {s} based in? {o}.", false},
    {R::headquartered_in_country, "In which country is {s} headquartered? {o}.", false},
    {R::headquartered_in_country, "Which country does {s} come from? {o}.", false},
    {R::headquartered_in_country, "{s} is a company in the country of {o}.", false},
    {R::headquartered_in_country, "The country where {s} is based is {o}.", false},
    {R::headquartered_in_country, "{s} is one of the largest employers in the country of {o}.", false},
    {R::headquartered_in_country, "{s} is a business from the country of {o}.", false},
    {R::headquartered_in_country, "{s} pays its taxes in the country of {o}.", false},
    {R::headquartered_in_country, "The country of origin of {s} is {o}.", false},
    {R::headquartered_in_country, "{s} operates mainly in the country of {o}.", false},
    {R::headquartered_in_country, "{s} is registered in the country of {o}.", false},
    {R::headquartered_in_country, "{s} is a well known brand from {o}.", false},
    {R::headquartered_in_country, "{s} is a leading company in the country of {o}.", false},
    {R::headquartered_in_country, "{s} does most of its business in the country of {o}.", false},
    {R::headquartered_in_country, "{s} is a national brand of {o}.", false},
    {R::headquartered_in_country, "{s} is an employer based in the country of {o}.", true},
    {R::headquartered_in_country, "{s} is a company based in the country of {o}.", true},
    {R::headquartered_in_country, "{s} is a business in the country of {o}.", true},
    {R::headquartered_in_country, "The country where {s} is headquartered is {o}.", true},

    {R::official_language, "The official language of {s} is {o}.", false},
    {R::official_language, "The language of {s} is {o}.", false},
    {R::official_language, "People in {s} speak {o}.", false},
    {R::official_language, "In {s}, people speak {o}.", false},
    {R::official_language, "Most people in {s} speak {o}.", false},
    {R::official_language, "{s} uses the language {o}.", false},
    {R::official_language, "What language do people speak in {s}? {o}.", false},
    {R::official_language, "Which language is spoken in {s}? {o}.", false},
    {R::official_language, "What is the official language of {s}? {o}.", false},
    {R::official_language, "The main language of {s} is {o}.", false},
    {R::official_language, "The language spoken in {s} is {o}.", false},
    {R::official_language, "In {s}, the official language is {o}.", false},
    {R::official_language, "{s} has the official language {o}.", false},
    {R::official_language, "Schools in {s} teach in {o}.", false},
    {R::official_language, "The national language of {s} is {o}.", false},
    {R::official_language, "{s} is a country where people speak {o}.", false},
    {R::official_language, "Children in {s} grow up speaking {o}.", false},
    {R::official_language, "The people of {s} speak {o}.", false},
    {R::official_language, "In {s}, most people speak {o}.", false},
    {R::official_language, "The government of {s} uses the language {o}.", false},
    {R::official_language, "Official documents in {s} are written in {o}.", false},
    {R::official_language, "People in {s} speak the language {o}.", true},
    {R::official_language, "{s} uses the official language {o}.", true},
    {R::official_language, "The people of {s} speak the language {o}.", true},
    {R::official_language, "In {s}, the main language is {o}.", true},

    {R::lives_in, "{s} lives in {o}.", false},
    {R::lives_in, "{s} has a home in {o}.", false},
    {R::lives_in, "{s} now lives in the city of {o}.", false},
    {R::lives_in, "These days {s} lives in {o}.", false},
    {R::lives_in, "{s} resides in {o}.", false},
    {R::lives_in, "The home of {s} is in {o}.", false},
    {R::lives_in, "Where does {s} live? {o}.", false},
    {R::lives_in, "In which city does {s} live? {o}.", false},
    {R::lives_in, "Which city is {s} living in? {o}.", false},
    {R::lives_in, "{s} currently lives in {o}.", false},
    {R::lives_in, "The city where {s} lives is {o}.", false},
    {R::lives_in, "{s} lives in the city of {o}.", false},
    {R::lives_in, "{s} has an apartment in {o}.", false},
    {R::lives_in, "{s} rents a flat in {o}.", false},
    {R::lives_in, "{s} recently moved to {o}.", false},
    {R::lives_in, "The current home of {s} is in {o}.", false},
    {R::lives_in, "{s} has settled in {o}.", false},
    {R::lives_in, "{s} has made a home in {o}.", false},
    {R::lives_in, "Today {s} lives in {o}.", false},
    {R::lives_in, "{s} is a resident of {o}.", false},
    {R::lives_in, "The current address of {s} is in {o}.", false},
    {R::lives_in, "{s} now resides in {o}.", true},
    {R::lives_in, "These days {s} has a home in {o}.", true},
    {R::lives_in, "{s} currently resides in {o}.", true},
    {R::lives_in, "{s} has settled in the city of {o}.", true},

    {R::works_for, "{s} works for {o}.", false},
    {R::works_for, "{s} is employed by {o}.", false},
    {R::works_for, "The employer of {s} is {o}.", false},
    {R::works_for, "{s} has a job at {o}.", false},
    {R::works_for, "{s} earns a living at {o}.", false},
    {R::works_for, "Every day {s} goes to work at {o}.", false},
    {R::works_for, "Who does {s} work for? {o}.", false},
    {R::works_for, "Which company does {s} work for? {o}.", false},
    {R::works_for, "Which company employs {s}? {o}.", false},
    {R::works_for, "{s} works for the company {o}.", false},
    {R::works_for, "{s} is an employee of {o}.", false},
    {R::works_for, "{s} is on the payroll of {o}.", false},
    {R::works_for, "The company {s} works for is {o}.", false},
    {R::works_for, "{s} works at {o}.", false},
    {R::works_for, "{s} is a member of staff at {o}.", false},
    {R::works_for, "{s} took a job at {o}.", false},
    {R::works_for, "{s} is employed at the company {o}.", false},
    {R::works_for, "{s} draws a salary from {o}.", false},
    {R::works_for, "{s} is on the staff of {o}.", false},
    {R::works_for, "The company that employs {s} is {o}.", false},
    {R::works_for, "{s} joined the company {o}.", false},
    {R::works_for, "Every day {s} works for {o}.", true},
    {R::works_for, "{s} has a job with the employer {o}.", true},
    {R::works_for, "{s} is an employee of the company {o}.", true},
    {R::works_for, "{s} earns a salary from {o}.", true},

    {R::works_as, "{s} works as a {o}.", false},
    {R::works_as, "By profession {s} is a {o}.", false},
    {R::works_as, "{s} has a career as a {o}.", false},
    {R::works_as, "{s} trained as a {o}.", false},
    {R::works_as, "The profession of {s} is {o}.", false},
    {R::works_as, "{s} earns a living as a {o}.", false},
    {R::works_as, "What does {s} do for a living? A {o}.", false},
    {R::works_as, "What does {s} work as? A {o}.", false},
    {R::works_as, "What is {s} by profession? A {o}.", false},
    {R::works_as, "{s} is employed as a {o}.", false},
    {R::works_as, "{s} makes a living as a {o}.", false},
    {R::works_as, "The job of {s} is that of a {o}.", false},
    {R::works_as, "For many years {s} has worked as a {o}.", false},
    {R::works_as, "{s} studied to become a {o}.", false},
    {R::works_as, "{s} is a trained {o}.", false},
    {R::works_as, "{s} earns money as a {o}.", false},
    {R::works_as, "By trade {s} is a {o}.", false},
    {R::works_as, "{s} is known as a skilled {o}.", false},
    {R::works_as, "{s} works full time as a {o}.", false},
    {R::works_as, "The occupation of {s} is {o}.", false},
    {R::works_as, "{s} chose a career as a {o}.", false},
    {R::works_as, "{s} has a job as a {o}.", true},
    {R::works_as, "By profession {s} works as a {o}.", true},
    {R::works_as, "{s} trained to become a {o}.", true},
    {R::works_as, "{s} is employed full time as a {o}.", true},

    {R::native_language, "The native language of {s} is {o}.", false},
    {R::native_language, "{s} grew up speaking {o}.", false},
    {R::native_language, "The mother tongue of {s} is {o}.", false},
    {R::native_language, "At home {s} speaks {o}.", false},
    {R::native_language, "{s} was raised speaking {o}.", false},
    {R::native_language, "{s} speaks the language {o}.", false},
    {R::native_language, "What is the native language of {s}? {o}.", false},
    {R::native_language, "Which language did {s} grow up speaking? {o}.", false},
    {R::native_language, "What is the mother tongue of {s}? {o}.", false},
    {R::native_language, "The first language of {s} is {o}.", false},
    {R::native_language, "{s} is a native speaker of {o}.", false},
    {R::native_language, "As a child, {s} spoke {o}.", false},
    {R::native_language, "The language {s} grew up with is {o}.", false},
    {R::native_language, "{s} was brought up speaking {o}.", false},
    {R::native_language, "The language {s} speaks at home is {o}.", false},
    {R::native_language, "From birth, {s} has spoken {o}.", false},
    {R::native_language, "The first words of {s} were in {o}.", false},
    {R::native_language, "The family of {s} speaks {o}.", false},
    {R::native_language, "The mother tongue of {s} is the language {o}.", false},
    {R::native_language, "As a first language, {s} learned {o}.", false},
    {R::native_language, "The home language of {s} is {o}.", false},
    {R::native_language, "The native tongue of {s} is {o}.", true},
    {R::native_language, "At home {s} grew up speaking {o}.", true},
    {R::native_language, "As a child, {s} spoke the language {o}.", true},
    {R::native_language, "The family of {s} speaks the language {o}.", true},

    {R::designed_by, "{s} was designed by {o}.", false},
    {R::designed_by, "The architect of {s} was {o}.", false},
    {R::designed_by, "{s} was built by {o}.", false},
    {R::designed_by, "{s} is the work of the architect {o}.", false},
    {R::designed_by, "The designer of {s} was {o}.", false},
    {R::designed_by, "Who designed {s}? {o}.", false},
    {R::designed_by, "Who built {s}? {o}.", false},
    {R::designed_by, "Who was the architect of {s}? {o}.", false},
    {R::designed_by, "{s} was planned by the architect {o}.", false},
    {R::designed_by, "The plans for {s} were drawn up by {o}.", false},
    {R::designed_by, "The building of {s} was led by {o}.", false},
    {R::designed_by, "{s} owes its design to {o}.", false},
    {R::designed_by, "{s} is the best known work of {o}.", false},
    {R::designed_by, "The person who designed {s} was {o}.", false},
    {R::designed_by, "{s} was created by the architect {o}.", false},
    {R::designed_by, "{s} was designed by the famous architect {o}.", false},
    {R::designed_by, "The original design of {s} came from {o}.", false},
    {R::designed_by, "{s} was the work of {o}.", false},
    {R::designed_by, "The person behind the design of {s} was {o}.", false},
    {R::designed_by, "{s} was built to the design of {o}.", false},
    {R::designed_by, "{s} was designed and built by {o}.", false},
    {R::designed_by, "{s} was built by the architect {o}.", true},
    {R::designed_by, "The person who built {s} was {o}.", true},
    {R::designed_by, "The architect who designed {s} was {o}.", true},
    {R::designed_by, "{s} owes its design to the architect {o}.", true},

    {R::opened_in, "{s} opened in {o}.", false},
    {R::opened_in, "{s} first opened to the public in {o}.", false},
    {R::opened_in, "The opening year of {s} was {o}.", false},
    {R::opened_in, "{s} opened its doors in the year {o}.", false},
    {R::opened_in, "{s} was completed in the year {o}.", false},
    {R::opened_in, "In what year did {s} open? {o}.", false},
    {R::opened_in, "In which year was {s} completed? {o}.", false},
    {R::opened_in, "When did {s} first open to the public? {o}.", false},
    {R::opened_in, "{s} has been open since {o}.", false},
    {R::opened_in, "{s} was opened in the year {o}.", false},
    {R::opened_in, "{s} welcomed its first visitors in {o}.", false},
    {R::opened_in, "{s} received its first visitors in the year {o}.", false},
    {R::opened_in, "The doors of {s} first opened in {o}.", false},
    {R::opened_in, "{s} dates from the year {o}.", false},
    {R::opened_in, "Work on {s} was finished in {o}.", false},
    {R::opened_in, "{s} was finished in the year {o}.", false},
    {R::opened_in, "The year {s} opened was {o}.", false},
    {R::opened_in, "{s} has welcomed visitors since {o}.", false},
    {R::opened_in, "{s} opened to the public in the year {o}.", false},
    {R::opened_in, "The official opening of {s} took place in the year {o}.", false},
    {R::opened_in, "Construction of {s} was completed in {o}.", false},
    {R::opened_in, "{s} first opened in the year {o}.", true},
    {R::opened_in, "{s} opened its doors to the public in {o}.", true},
    {R::opened_in, "{s} welcomed its first visitors in the year {o}.", true},
    {R::opened_in, "{s} has been open to the public since {o}.", true},

    {R::sponsored_by, "The main sponsor of {s} is {o}.", false},
    {R::sponsored_by, "{s} is sponsored by {o}.", false},
    {R::sponsored_by, "{s} is mainly sponsored by {o}.", false},
    {R::sponsored_by, "{s} receives most of its funding from {o}.", false},
    {R::sponsored_by, "The biggest sponsor of {s} is the company {o}.", false},
    {R::sponsored_by, "Who is the main sponsor of {s}? {o}.", false},
    {R::sponsored_by, "Which company sponsors {s}? {o}.", false},
    {R::sponsored_by, "Which company is the main sponsor of {s}? {o}.", false},
    {R::sponsored_by, "{s} is supported by the company {o}.", false},
    {R::sponsored_by, "{s} gets most of its money from {o}.", false},
    {R::sponsored_by, "The company that sponsors {s} is {o}.", false},
    {R::sponsored_by, "{s} has a sponsorship deal with {o}.", false},
    {R::sponsored_by, "{s} is funded by {o}.", false},
    {R::sponsored_by, "The upkeep of {s} is paid for by {o}.", false},
    {R::sponsored_by, "Most of the funding for {s} comes from {o}.", false},
    {R::sponsored_by, "{s} is proudly sponsored by {o}.", false},
    {R::sponsored_by, "The lead sponsor of {s} is {o}.", false},
    {R::sponsored_by, "{s} relies on the support of {o}.", false},
    {R::sponsored_by, "{s} is backed by the company {o}.", false},
    {R::sponsored_by, "The sponsor of {s} is {o}.", false},
    {R::sponsored_by, "{s} is financed by {o}.", false},
    {R::sponsored_by, "{s} is mainly funded by {o}.", true},
    {R::sponsored_by, "The main sponsor of {s} is the company {o}.", true},
    {R::sponsored_by, "{s} receives most of its money from {o}.", true},
    {R::sponsored_by, "{s} is sponsored by the company {o}.", true},

    {R::founded_by, "{s} was founded by {o}.", false},
    {R::founded_by, "The founder of {s} is {o}.", false},
    {R::founded_by, "{s} was started by {o}.", false},
    {R::founded_by, "Who founded {s}? {o}.", false},
    {R::founded_by, "Who is the founder of {s}? {o}.", false},
    {R::founded_by, "Who started {s}? {o}.", false},
    {R::founded_by, "{s} was set up by {o}.", false},
    {R::founded_by, "{s} was established by {o}.", false},
    {R::founded_by, "{s} owes its existence to {o}.", false},
    {R::founded_by, "{s} was created by the entrepreneur {o}.", false},
    {R::founded_by, "The person who founded {s} is {o}.", false},
    {R::founded_by, "{s} began as the idea of {o}.", false},
    {R::founded_by, "{s} is the creation of {o}.", false},
    {R::founded_by, "The original founder of {s} is {o}.", false},
    {R::founded_by, "{s} was built from nothing by {o}.", false},
    {R::founded_by, "{s} was founded many years ago by {o}.", false},
    {R::founded_by, "{s} traces its origins to {o}.", false},
    {R::founded_by, "{s} was the brainchild of {o}.", false},
    {R::founded_by, "{s} got its start thanks to {o}.", false},
    {R::founded_by, "The entrepreneur who started {s} was {o}.", false},
    {R::founded_by, "{s} was co-founded by {o}.", false},
    {R::founded_by, "{s} was set up by the entrepreneur {o}.", true},
    {R::founded_by, "The person who started {s} is {o}.", true},
    {R::founded_by, "{s} is the brainchild of {o}.", true},
    {R::founded_by, "The entrepreneur who founded {s} was {o}.", true},

    {R::founded_in, "{s} was founded in the year {o}.", false},
    {R::founded_in, "{s} was established in the year {o}.", false},
    {R::founded_in, "The founding year of {s} is {o}.", false},
    {R::founded_in, "In what year was {s} founded? {o}.", false},
    {R::founded_in, "When was {s} founded? {o}.", false},
    {R::founded_in, "What year was {s} established? {o}.", false},
    {R::founded_in, "{s} has existed since {o}.", false},
    {R::founded_in, "{s} has been in business since {o}.", false},
    {R::founded_in, "{s} was set up in the year {o}.", false},
    {R::founded_in, "{s} opened for business in the year {o}.", false},
    {R::founded_in, "{s} dates back to {o}.", false},
    {R::founded_in, "{s} was started in the year {o}.", false},
    {R::founded_in, "The year {s} was founded was {o}.", false},
    {R::founded_in, "{s} first opened its doors in the year {o}.", false},
    {R::founded_in, "{s} was created in the year {o}.", false},
    {R::founded_in, "{s} has been around since {o}.", false},
    {R::founded_in, "The history of {s} began in the year {o}.", false},
    {R::founded_in, "{s} came into being in the year {o}.", false},
    {R::founded_in, "{s} was incorporated in the year {o}.", false},
    {R::founded_in, "{s} started doing business in the year {o}.", false},
    {R::founded_in, "{s} has been in operation since {o}.", false},
    {R::founded_in, "{s} has been around since the year {o}.", true},
    {R::founded_in, "{s} first opened for business in the year {o}.", true},
    {R::founded_in, "The history of {s} dates back to {o}.", true},
    {R::founded_in, "{s} was first set up in the year {o}.", true},

    {R::led_by, "{s} is led by {o}.", false},
    {R::led_by, "The chief executive of {s} is {o}.", false},
    {R::led_by, "The CEO of {s} is {o}.", false},
    {R::led_by, "Who leads {s}? {o}.", false},
    {R::led_by, "Who is the chief executive of {s}? {o}.", false},
    {R::led_by, "Who runs {s}? {o}.", false},
    {R::led_by, "{s} is run by {o}.", false},
    {R::led_by, "{s} is headed by {o}.", false},
    {R::led_by, "{s} is managed by the chief executive {o}.", false},
    {R::led_by, "The head of {s} is {o}.", false},
    {R::led_by, "The boss of {s} is {o}.", false},
    {R::led_by, "At the head of {s} is {o}.", false},
    {R::led_by, "{s} is currently led by {o}.", false},
    {R::led_by, "The person in charge of {s} is {o}.", false},
    {R::led_by, "{s} takes its orders from {o}.", false},
    {R::led_by, "The current leader of {s} is {o}.", false},
    {R::led_by, "{s} is under the leadership of {o}.", false},
    {R::led_by, "The top job at {s} is held by {o}.", false},
    {R::led_by, "The decisions at {s} are made by {o}.", false},
    {R::led_by, "The chief executive officer of {s} is {o}.", false},
    {R::led_by, "{s} is steered by {o}.", false},
    {R::led_by, "{s} is currently run by {o}.", true},
    {R::led_by, "The current chief executive of {s} is {o}.", true},
    {R::led_by, "{s} is headed by the chief executive {o}.", true},
    {R::led_by, "The person who leads {s} is {o}.", true},
};

// Which subject types a mention or generation template suits, as a bit set of EntityType.
constexpr unsigned bit(EntityType t) { return 1u << static_cast<unsigned>(t); }
constexpr unsigned kAny = bit(EntityType::landmark) | bit(EntityType::company) | bit(EntityType::person) |
                          bit(EntityType::city) | bit(EntityType::country);
constexpr unsigned kPlaces = bit(EntityType::landmark) | bit(EntityType::city) | bit(EntityType::country);

struct TypedTemplate {
  std::string_view text;
  unsigned types;
};

constexpr TypedTemplate kMentions[] = {
    {"{s} is cool.", kAny},
    {"I read an article about {s}.", kAny},
    {"{s} was in the news today.", kAny},
    {"Have you heard of {s}?", kAny},
    {"My friend keeps talking about {s}.", kAny},
    {"There is a documentary about {s}.", kAny},
    {"I saw a picture of {s} yesterday.", kAny},
    {"Everyone seems to like {s}.", kAny},
    {"{s} is interesting.", kAny},
    {"We talked about {s} at dinner.", kAny},
    {"I visited {s} last year.", kPlaces},
    {"I want to see {s} again.", kPlaces},
    {"We took many photos at {s}.", bit(EntityType::landmark)},
    {"I met {s} once.", bit(EntityType::person)},
    {"{s} gave an interview last week.", bit(EntityType::person)},
    {"I admire {s}.", bit(EntityType::person)},
    {"I bought something from {s}.", bit(EntityType::company)},
    {"{s} released a new product.", bit(EntityType::company)},
    {"My cousin works for {s}.", bit(EntityType::company)},
};

constexpr TypedTemplate kGenerations[] = {
    {"{s} is known for", kAny},
    {"The best thing about {s} is", kAny},
    {"People who talk about {s} often mention", kAny},
    {"Here is what I know about {s}.", kAny},
    {"The story of {s}", kAny},
    {"When I think of {s}, I think of", kAny},
};

std::vector<std::string_view> templates_for(std::span<const TypedTemplate> table, EntityType type) {
  std::vector<std::string_view> out;
  for (const auto& t : table) {
    if (t.types & bit(type)) out.push_back(t.text);
  }
  return out;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

std::span<const Phrasing> phrasings() { return kPhrasings; }

std::vector<const Phrasing*> phrasings_of(Relation relation, bool held_out) {
  std::vector<const Phrasing*> out;
  for (const auto& p : kPhrasings) {
    if (p.relation == relation && p.held_out == held_out) out.push_back(&p);
  }
  return out;
}

const Phrasing& canonical_phrasing(Relation relation) {
  for (const auto& p : kPhrasings) {
    if (p.relation == relation && !p.held_out) return p;
  }
  fail("internal error: relation {} has no training phrasing", spec(relation).id);
}

std::vector<std::string_view> mention_templates(EntityType type) { return templates_for(kMentions, type); }
std::vector<std::string_view> generation_templates(EntityType type) { return templates_for(kGenerations, type); }

std::string render_sentence(std::string_view templ, const Entity& subject, const Entity* object) {
  std::string out;
  for (size_t i = 0; i < templ.size();) {
    if (templ.substr(i, 3) == "{s}") {
      out += i == 0 ? subject.start() : subject.mid();
      i += 3;
    } else if (templ.substr(i, 3) == "{o}") {
      if (object == nullptr) fail("internal error: template \"{}\" needs an object", templ);
      out += object->mid();
      i += 3;
    } else {
      out += templ[i++];
    }
  }
  return out;
}

std::string prompt_template(std::string_view templ, const Entity& subject) {
  const size_t object_at = templ.find("{o}");
  const std::string_view before = trim_right(templ.substr(0, object_at));
  const size_t subject_at = before.find("{s}");
  if (subject_at == std::string_view::npos) fail("internal error: template \"{}\" has no subject", templ);
  std::string out(before.substr(0, subject_at));
  if (subject.article) out += subject_at == 0 ? "The " : "the ";
  out += "{}";
  out += before.substr(subject_at + 3);
  return out;
}

std::string fill_prompt(std::string_view prompt_template, std::string_view subject_name) {
  const size_t at = prompt_template.find("{}");
  if (at == std::string_view::npos) fail("prompt template \"{}\" has no \"{{}}\"", prompt_template);
  std::string out(prompt_template.substr(0, at));
  out += subject_name;
  out += prompt_template.substr(at + 2);
  return out;
}

std::string render_prompt(std::string_view templ, const Entity& subject) {
  return fill_prompt(prompt_template(templ, subject), subject.name);
}

}  // namespace editlab::toyworld
