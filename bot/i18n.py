"""The bot's fixed texts in every supported language: `t(key, language, **values)`.

English is the fallback for a language or key without a translation. Serbian is written here
in Latin; a conversation in Serbian Cyrillic (`sr-Cyrl`) gets it transliterated (one-to-one).
"""

from __future__ import annotations

from bot.language import base
from knowledge_base.normalize import latin_to_cyrillic

FALLBACK = "en"

TEXTS: dict[str, dict[str, str]] = {
    "greet": {
        "en": "Hi! I'm the Brightcart assistant. Ask me about orders, delivery, returns, "
        "payments or your account.",
        "bs": "Zdravo! Ja sam Brightcart asistent. Pitajte me o narudžbama, dostavi, povratu "
        "robe, plaćanju ili vašem računu.",
        "hr": "Bok! Ja sam Brightcart asistent. Pitajte me o narudžbama, dostavi, povratima, "
        "plaćanju ili svom korisničkom računu.",
        "sr": "Zdravo! Ja sam Brightcart asistent. Pitajte me o porudžbinama, dostavi, povraćaju "
        "robe, plaćanju ili vašem nalogu.",
        "ru": "Здравствуйте! Я помощник Brightcart. Спросите меня о заказах, доставке, возвратах, "
        "оплате или вашем аккаунте.",
        "fa": "سلام! من دستیار Brightcart هستم. درباره‌ی سفارش، ارسال، مرجوعی، پرداخت یا حساب "
        "کاربری‌تان از من بپرسید.",
    },
    "goodbye": {
        "en": "Goodbye! Thanks for shopping with Brightcart.",
        "bs": "Doviđenja! Hvala što kupujete u Brightcartu.",
        "hr": "Doviđenja! Hvala što kupujete u Brightcartu.",
        "sr": "Doviđenja! Hvala što kupujete u Brightcartu.",
        "ru": "До свидания! Спасибо, что выбираете Brightcart.",
        "fa": "خدانگهدار! ممنون که از Brightcart خرید می‌کنید.",
    },
    "welcome": {
        "en": "You're welcome! Happy to help.",
        "bs": "Nema na čemu, rado pomažem!",
        "hr": "Nema na čemu, rado pomažem!",
        "sr": "Nema na čemu, rado pomažem!",
        "ru": "Пожалуйста! Всегда рады помочь.",
        "fa": "خواهش می‌کنم! خوشحالم که کمک کردم.",
    },
    "iamabot": {
        "en": "I'm a bot, the Brightcart virtual assistant. If you'd rather talk to a person, "
        "just ask for a human at any time and I'll connect you.",
        "bs": "Ja sam bot, virtuelni asistent Brightcarta. Ako radije želite razgovarati s "
        "osobom, samo to recite u bilo kojem trenutku i povezat ću vas.",
        "hr": "Ja sam bot, virtualni asistent Brightcarta. Ako radije želite razgovarati s "
        "osobom, samo to recite u bilo kojem trenutku i povezat ću vas.",
        "sr": "Ja sam bot, virtuelni asistent Brightcarta. Ako radije želite da razgovarate sa "
        "osobom, samo recite u bilo kom trenutku i povezaću vas.",
        "ru": "Я бот, виртуальный помощник Brightcart. Если хотите поговорить с человеком, "
        "просто скажите об этом в любой момент, и я вас соединю.",
        "fa": "من یک ربات هستم، دستیار مجازی Brightcart. اگر ترجیح می‌دهید با یک نفر صحبت کنید، "
        "هر وقت خواستید بگویید تا شما را وصل کنم.",
    },
    "glad": {
        "en": "Glad I could help! Anything else?",
        "bs": "Drago mi je da je pomoglo! Mogu li vam još nečim pomoći?",
        "hr": "Drago mi je da je pomoglo! Mogu li vam još nečim pomoći?",
        "sr": "Drago mi je da je pomoglo! Mogu li još nečim da vam pomognem?",
        "ru": "Рад, что это помогло! Могу ли я помочь чем-то ещё?",
        "fa": "خوشحالم که کمک کرد! کار دیگری هم هست؟",
    },
    "rasa_down": {
        "en": "Sorry, I'm having a technical problem and can't answer right now. Your message "
        "is saved and our team has been told: you'll get an answer here as soon as possible.",
        "bs": "Izvinite, imam tehnički problem i trenutno ne mogu odgovoriti. Vaša poruka je "
        "sačuvana i naš tim je obaviješten: odgovor ćete dobiti ovdje što je prije moguće.",
        "hr": "Oprostite, imam tehnički problem i trenutačno ne mogu odgovoriti. Vaša je poruka "
        "spremljena i naš je tim obaviješten: odgovor ćete dobiti ovdje što je prije moguće.",
        "sr": "Izvinite, imam tehnički problem i trenutno ne mogu da odgovorim. Vaša poruka je "
        "sačuvana i naš tim je obavešten: odgovor ćete dobiti ovde što je pre moguće.",
        "ru": "Извините, у меня техническая проблема, и я не могу ответить прямо сейчас. Ваше "
        "сообщение сохранено, наша команда уже в курсе: вы получите ответ здесь как можно "
        "скорее.",
        "fa": "متأسفم، یک مشکل فنی پیش آمده و الان نمی‌توانم پاسخ بدهم. پیام شما ذخیره شده و "
        "تیم ما در جریان است: به‌زودی همین‌جا پاسخ می‌گیرید.",
    },
    "still_waiting": {
        "en": "I still can't answer right now. This message is saved too, and you'll get an "
        "answer here as soon as possible.",
        "bs": "Još uvijek ne mogu odgovoriti. I ova poruka je sačuvana i odgovor ćete dobiti "
        "ovdje što je prije moguće.",
        "hr": "Još uvijek ne mogu odgovoriti. I ova je poruka spremljena i odgovor ćete dobiti "
        "ovdje što je prije moguće.",
        "sr": "Još uvek ne mogu da odgovorim. I ova poruka je sačuvana i odgovor ćete dobiti "
        "ovde što je pre moguće.",
        "ru": "Я всё ещё не могу ответить. Это сообщение тоже сохранено, и вы получите ответ "
        "здесь как можно скорее.",
        "fa": "هنوز نمی‌توانم پاسخ بدهم. این پیام هم ذخیره شد و به‌زودی همین‌جا پاسخ می‌گیرید.",
    },
    "too_long": {
        "en": "Your message is too long ({length} characters). Please keep it under {limit}.",
        "bs": "Vaša poruka je preduga ({length} znakova). Molimo da ima manje od {limit} znakova.",
        "hr": "Vaša je poruka preduga ({length} znakova). Neka ima manje od {limit} znakova.",
        "sr": "Vaša poruka je predugačka ({length} karaktera). Molimo da ima manje od {limit} "
        "karaktera.",
        "ru": "Ваше сообщение слишком длинное ({length} символов). Пожалуйста, уложитесь в "
        "{limit} символов.",
        "fa": "پیام شما خیلی طولانی است ({length} نویسه). لطفاً آن را کوتاه‌تر از {limit} نویسه "
        "بنویسید.",
    },
    "agent_online": {
        "en": "I'm passing this conversation to a person from our team. They will see "
        "everything you've written here, so you won't need to repeat yourself.",
        "bs": "Prosljeđujem ovaj razgovor osobi iz našeg tima. Vidjet će sve što ste ovdje "
        "napisali, tako da se ne morate ponavljati.",
        "hr": "Prosljeđujem ovaj razgovor osobi iz našeg tima. Vidjet će sve što ste ovdje "
        "napisali pa se nećete morati ponavljati.",
        "sr": "Prosleđujem ovaj razgovor osobi iz našeg tima. Videće sve što ste ovde napisali, "
        "tako da ne morate da se ponavljate.",
        "ru": "Передаю этот разговор сотруднику нашей команды. Он увидит всё, что вы здесь "
        "написали, так что повторять ничего не придётся.",
        "fa": "این گفتگو را به یکی از همکارانمان می‌سپارم. او همه‌ی چیزهایی را که اینجا "
        "نوشته‌اید می‌بیند، پس لازم نیست چیزی را تکرار کنید.",
    },
    "no_agent_online": {
        "en": "I'm passing this conversation to a person from our team. Nobody is available "
        "right now, so your conversation is queued: a person will answer you here as soon as "
        "they are back, with everything you've written so far.",
        "bs": "Prosljeđujem ovaj razgovor osobi iz našeg tima. Trenutno niko nije dostupan, pa "
        "je vaš razgovor u redu čekanja: neko iz tima će vam odgovoriti ovdje čim se vrati i "
        "vidjet će sve što ste dosad napisali.",
        "hr": "Prosljeđujem ovaj razgovor osobi iz našeg tima. Trenutačno nitko nije dostupan pa "
        "je vaš razgovor u redu čekanja: netko iz tima odgovorit će vam ovdje čim se vrati i "
        "vidjet će sve što ste dosad napisali.",
        "sr": "Prosleđujem ovaj razgovor osobi iz našeg tima. Trenutno niko nije dostupan, pa je "
        "vaš razgovor u redu čekanja: neko iz tima će vam odgovoriti ovde čim se vrati i "
        "videće sve što ste do sada napisali.",
        "ru": "Передаю этот разговор сотруднику нашей команды. Сейчас никого нет на месте, "
        "поэтому ваш разговор поставлен в очередь: сотрудник ответит вам здесь, как только "
        "вернётся, и увидит всё, что вы написали.",
        "fa": "این گفتگو را به یکی از همکارانمان می‌سپارم. الان کسی در دسترس نیست، بنابراین "
        "گفتگوی شما در صف قرار گرفت: به محض بازگشت، یکی از همکاران همین‌جا پاسخ می‌دهد و همه‌ی "
        "پیام‌هایتان را می‌بیند.",
    },
    "already_queued": {
        "en": "A person from our team already has your conversation and will answer here.",
        "bs": "Osoba iz našeg tima već ima vaš razgovor i odgovorit će vam ovdje.",
        "hr": "Osoba iz našeg tima već ima vaš razgovor i odgovorit će vam ovdje.",
        "sr": "Osoba iz našeg tima već ima vaš razgovor i odgovoriće vam ovde.",
        "ru": "Ваш разговор уже у сотрудника нашей команды, он ответит вам здесь.",
        "fa": "گفتگوی شما دست یکی از همکاران ماست و همین‌جا پاسخ می‌دهد.",
    },
    "rating_question": {
        "en": "{agent} has marked your question as resolved and handed you back to me. How "
        "would you rate the help you got? (1 = poor, 5 = excellent)",
        "bs": "Vaše pitanje je označeno kao riješeno ({agent}) i razgovor je ponovo kod mene. "
        "Kako biste ocijenili pomoć koju ste dobili? (1 = loše, 5 = odlično)",
        "hr": "Vaše je pitanje označeno kao riješeno ({agent}) i razgovor je ponovno kod mene. "
        "Kako biste ocijenili pomoć koju ste dobili? (1 = loše, 5 = izvrsno)",
        "sr": "Vaše pitanje je označeno kao rešeno ({agent}) i razgovor je ponovo kod mene. "
        "Kako biste ocenili pomoć koju ste dobili? (1 = loše, 5 = odlično)",
        "ru": "Ваш вопрос отмечен как решённый ({agent}), и разговор снова со мной. Как вы "
        "оцените полученную помощь? (1 — плохо, 5 — отлично)",
        "fa": "{agent} سؤال شما را حل‌شده علامت زد و گفتگو دوباره به من برگشت. به کمکی که "
        "گرفتید چه نمره‌ای می‌دهید؟ (1 = ضعیف، 5 = عالی)",
    },
    "rating_thanks": {
        "en": "Thank you for your rating! Is there anything else I can help with?",
        "bs": "Hvala na ocjeni! Mogu li vam još nečim pomoći?",
        "hr": "Hvala na ocjeni! Mogu li vam još nečim pomoći?",
        "sr": "Hvala na oceni! Mogu li još nečim da vam pomognem?",
        "ru": "Спасибо за оценку! Могу ли я ещё чем-нибудь помочь?",
        "fa": "از امتیازتان ممنونم! کار دیگری هست که بتوانم برایتان انجام دهم؟",
    },
    "rating_followup": {
        "en": "Sorry we let you down. What went wrong? Your answer goes straight to our team.",
        "bs": "Žao nam je što niste zadovoljni. Šta je pošlo po zlu? Vaš odgovor ide direktno "
        "našem timu.",
        "hr": "Žao nam je što niste zadovoljni. Što je pošlo po zlu? Vaš odgovor ide izravno "
        "našem timu.",
        "sr": "Žao nam je što niste zadovoljni. Šta je pošlo naopako? Vaš odgovor ide direktno "
        "našem timu.",
        "ru": "Жаль, что мы вас разочаровали. Что пошло не так? Ваш ответ сразу получит наша "
        "команда.",
        "fa": "متأسفیم که راضی نبودید. چه چیزی درست پیش نرفت؟ پاسخ شما مستقیم به تیم ما می‌رسد.",
    },
    "comment_thanks": {
        "en": "Thank you for telling us. Is there anything else I can help with?",
        "bs": "Hvala što ste nam rekli. Mogu li vam još nečim pomoći?",
        "hr": "Hvala što ste nam rekli. Mogu li vam još nečim pomoći?",
        "sr": "Hvala što ste nam rekli. Mogu li još nečim da vam pomognem?",
        "ru": "Спасибо, что рассказали. Могу ли я ещё чем-нибудь помочь?",
        "fa": "ممنون که به ما گفتید. کار دیگری هست که بتوانم برایتان انجام دهم؟",
    },
    "skip_button": {
        "en": "Skip",
        "bs": "Preskoči",
        "hr": "Preskoči",
        "sr": "Preskoči",
        "ru": "Пропустить",
        "fa": "رد شدن",
    },
    "resolved_no_survey": {
        "en": "{agent} has marked your question as resolved and handed you back to me. Is there "
        "anything else I can help with?",
        "bs": "Vaše pitanje je označeno kao riješeno ({agent}) i razgovor je ponovo kod mene. "
        "Mogu li vam još nečim pomoći?",
        "hr": "Vaše je pitanje označeno kao riješeno ({agent}) i razgovor je ponovno kod mene. "
        "Mogu li vam još nečim pomoći?",
        "sr": "Vaše pitanje je označeno kao rešeno ({agent}) i razgovor je ponovo kod mene. "
        "Mogu li još nečim da vam pomognem?",
        "ru": "Ваш вопрос отмечен как решённый ({agent}), и разговор снова со мной. Могу ли я "
        "ещё чем-нибудь помочь?",
        "fa": "{agent} سؤال شما را حل‌شده علامت زد و گفتگو دوباره به من برگشت. کار دیگری هست "
        "که بتوانم برایتان انجام دهم؟",
    },
    "answer_yes": {
        "en": "👍 Yes, that answered my question",
        "bs": "👍 Da, to je odgovor na moje pitanje",
        "hr": "👍 Da, to je odgovor na moje pitanje",
        "sr": "👍 Da, to je odgovor na moje pitanje",
        "ru": "👍 Да, это ответ на мой вопрос",
        "fa": "👍 بله، جواب سؤالم بود",
    },
    "answer_no": {
        "en": "👎 No, it didn't",
        "bs": "👎 Ne, nije",
        "hr": "👎 Ne, nije",
        "sr": "👎 Ne, nije",
        "ru": "👎 Нет, не помогло",
        "fa": "👎 نه، نبود",
    },
    "answer_thanks": {
        "en": "Glad that helped! Is there anything else I can help with?",
        "bs": "Drago mi je da je pomoglo! Mogu li vam još nečim pomoći?",
        "hr": "Drago mi je da je pomoglo! Mogu li vam još nečim pomoći?",
        "sr": "Drago mi je da je pomoglo! Mogu li još nečim da vam pomognem?",
        "ru": "Рад, что это помогло! Могу ли я ещё чем-нибудь помочь?",
        "fa": "خوشحالم که کمک کرد! کار دیگری هست که بتوانم برایتان انجام دهم؟",
    },
    "survey_done": {
        "en": "Thanks, I already have your answer to that.",
        "bs": "Hvala, vaš odgovor na to već imam.",
        "hr": "Hvala, vaš odgovor na to već imam.",
        "sr": "Hvala, vaš odgovor na to već imam.",
        "ru": "Спасибо, ваш ответ на это у меня уже есть.",
        "fa": "ممنون، پاسخ شما به این را قبلاً گرفته‌ام.",
    },
    "survey_stale": {
        "en": "That button no longer applies. How can I help you?",
        "bs": "To dugme više ne važi. Kako vam mogu pomoći?",
        "hr": "Taj gumb više ne vrijedi. Kako vam mogu pomoći?",
        "sr": "To dugme više ne važi. Kako mogu da vam pomognem?",
        "ru": "Эта кнопка больше не действует. Чем я могу помочь?",
        "fa": "این دکمه دیگر معتبر نیست. چطور می‌توانم کمکتان کنم؟",
    },
    "nps_question": {
        "en": "One more question, if you have a moment: how likely are you to recommend us to a "
        "friend or colleague? (0 = not at all, 10 = extremely likely)",
        "bs": "Još jedno pitanje, ako imate trenutak: koliko je vjerovatno da biste nas "
        "preporučili prijatelju ili kolegi? (0 = nimalo, 10 = sigurno)",
        "hr": "Još jedno pitanje, ako imate trenutak: koliko je vjerojatno da biste nas "
        "preporučili prijatelju ili kolegi? (0 = nimalo, 10 = sigurno)",
        "sr": "Još jedno pitanje, ako imate trenutak: koliko je verovatno da biste nas "
        "preporučili prijatelju ili kolegi? (0 = nimalo, 10 = sigurno)",
        "ru": "Ещё один вопрос, если у вас есть минута: насколько вероятно, что вы порекомендуете "
        "нас другу или коллеге? (0 — совсем нет, 10 — обязательно)",
        "fa": "اگر یک لحظه وقت دارید، یک سؤال دیگر: چقدر احتمال دارد ما را به یک دوست یا همکار "
        "پیشنهاد کنید؟ (0 = اصلاً، 10 = حتماً)",
    },
    "unknown": {
        "en": "I'm sorry, I don't have an answer to that yet. I've noted your question so our "
        "team can add it. Would you like to talk to a person?",
        "bs": "Žao mi je, na to još nemam odgovor. Vaše pitanje je zabilježeno kako bi ga naš "
        "tim mogao dodati. Želite li razgovarati s osobom?",
        "hr": "Žao mi je, na to još nemam odgovor. Vaše je pitanje zabilježeno kako bi ga naš "
        "tim mogao dodati. Želite li razgovarati s osobom?",
        "sr": "Žao mi je, na to još nemam odgovor. Vaše pitanje je zabeleženo da bi naš tim "
        "mogao da ga doda. Da li želite da razgovarate sa osobom?",
        "ru": "К сожалению, у меня пока нет ответа на этот вопрос. Ваш вопрос записан, чтобы "
        "наша команда могла добавить ответ. Хотите поговорить с сотрудником?",
        "fa": "متأسفم، هنوز پاسخی برای این سؤال ندارم. سؤال شما ثبت شد تا تیم ما پاسخش را "
        "اضافه کند. می‌خواهید با یکی از همکاران صحبت کنید؟",
    },
    "clarify": {
        "en": "I want to be sure I understand. Which of these do you mean?",
        "bs": "Samo da provjerim: na šta od ovoga mislite?",
        "hr": "Samo da provjerim: na što od ovoga mislite?",
        "sr": "Samo da proverim: na šta od ovoga mislite?",
        "ru": "Уточню: что из этого вы имеете в виду?",
        "fa": "می‌خواهم مطمئن شوم درست متوجه شده‌ام. منظورتان کدام‌یک از این‌هاست؟",
    },
    "clarify_one": {
        "en": "I want to be sure I understand. Do you mean this?",
        "bs": "Samo da provjerim: mislite li na ovo?",
        "hr": "Samo da provjerim: mislite li na ovo?",
        "sr": "Samo da proverim: da li mislite na ovo?",
        "ru": "Уточню: вы имеете в виду это?",
        "fa": "می‌خواهم مطمئن شوم درست متوجه شده‌ام. منظورتان این است؟",
    },
    "loading": {
        "en": "I'm still getting ready and can't look that up this second. Please try again in "
        "a moment, or talk to a person.",
        "bs": "Još se pripremam i ovog trenutka to ne mogu provjeriti. Pokušajte ponovo za "
        "trenutak ili razgovarajte s osobom.",
        "hr": "Još se pripremam i ovog trenutka to ne mogu provjeriti. Pokušajte ponovno za "
        "trenutak ili razgovarajte s osobom.",
        "sr": "Još se pripremam i ovog trenutka ne mogu to da proverim. Pokušajte ponovo za "
        "trenutak ili razgovarajte sa osobom.",
        "ru": "Я ещё загружаюсь и не могу проверить это прямо сейчас. Попробуйте ещё раз через "
        "минуту или поговорите с сотрудником.",
        "fa": "هنوز در حال آماده شدن هستم و همین لحظه نمی‌توانم این را بررسی کنم. لطفاً کمی "
        "بعد دوباره امتحان کنید یا با یکی از همکاران صحبت کنید.",
    },
    "not_helpful": {
        "en": "Sorry that didn't help. I've passed your question on so we can improve the "
        "answer. Would you like to talk to a person?",
        "bs": "Žao mi je što to nije pomoglo. Vaše pitanje je proslijeđeno kako bismo "
        "poboljšali odgovor. Želite li razgovarati s osobom?",
        "hr": "Žao mi je što to nije pomoglo. Vaše je pitanje proslijeđeno kako bismo "
        "poboljšali odgovor. Želite li razgovarati s osobom?",
        "sr": "Žao mi je što to nije pomoglo. Vaše pitanje je prosleđeno da bismo poboljšali "
        "odgovor. Da li želite da razgovarate sa osobom?",
        "ru": "Жаль, что это не помогло. Ваш вопрос передан команде, чтобы мы улучшили ответ. "
        "Хотите поговорить с сотрудником?",
        "fa": "متأسفم که کمکی نکرد. سؤال شما را فرستادم تا پاسخ را بهتر کنیم. می‌خواهید با "
        "یکی از همکاران صحبت کنید؟",
    },
    "no_answer": {
        "en": "Sorry, something went wrong on my side and I have no answer for you right now. "
        "Would you like to talk to a person?",
        "bs": "Žao mi je, nešto je pošlo po zlu kod mene i trenutno nemam odgovor. Želite li "
        "razgovarati s osobom?",
        "hr": "Žao mi je, nešto je pošlo po zlu kod mene i trenutno nemam odgovor. Želite li "
        "razgovarati s osobom?",
        "sr": "Žao mi je, nešto je pošlo naopako kod mene i trenutno nemam odgovor. Da li "
        "želite da razgovarate sa osobom?",
        "ru": "Извините, у меня что-то пошло не так, и сейчас я не могу ответить. Хотите "
        "поговорить с сотрудником?",
        "fa": "متأسفم، مشکلی در سمت من پیش آمد و الان پاسخی ندارم. می‌خواهید با یکی از "
        "همکاران صحبت کنید؟",
    },
    "text_only": {
        "en": "Sorry, I can only read text messages for now. Please type your question and "
        "I'll help.",
        "bs": "Žao mi je, zasad mogu čitati samo tekstualne poruke. Molim vas, napišite svoje "
        "pitanje i pomoći ću vam.",
        "hr": "Žao mi je, zasad mogu čitati samo tekstne poruke. Molim vas, napišite svoje "
        "pitanje i pomoći ću vam.",
        "sr": "Žao mi je, zasad mogu da čitam samo tekstualne poruke. Molim vas, napišite svoje "
        "pitanje i pomoći ću vam.",
        "ru": "Извините, пока я понимаю только текстовые сообщения. Напишите, пожалуйста, "
        "ваш вопрос, и я помогу.",
        "fa": "متأسفم، فعلاً فقط پیام‌های متنی را می‌توانم بخوانم. لطفاً سؤالتان را بنویسید "
        "تا کمکتان کنم.",
    },
    "human_button": {
        "en": "Talk to a person",
        "bs": "Razgovor s osobom",
        "hr": "Razgovor s osobom",
        "sr": "Razgovor sa osobom",
        "ru": "Поговорить с человеком",
        "fa": "گفتگو با یک نفر",
    },
    # A queued customer is told where they stand (bot/handoff/queue_status.py)
    "queued_ack": {
        "en": "Thanks, your message is with our team.",
        "bs": "Hvala, vaša poruka je kod našeg tima.",
        "hr": "Hvala, vaša je poruka kod našeg tima.",
        "sr": "Hvala, vaša poruka je kod našeg tima.",
        "ru": "Спасибо, ваше сообщение передано нашей команде.",
        "fa": "ممنون، پیام شما به تیم ما رسید.",
    },
    "queue_position": {
        "en": "You are number {position} in the queue.",
        "bs": "Vi ste {position}. u redu čekanja.",
        "hr": "Vi ste {position}. u redu čekanja.",
        "sr": "Vi ste {position}. u redu čekanja.",
        "ru": "Вы {position}-й в очереди.",
        "fa": "شما نفر {position} در صف هستید.",
    },
    "queue_wait": {
        "en": "Expected wait: about {minutes} min, based on how long customers waited this week.",
        "bs": "Očekivano čekanje: oko {minutes} min, prema tome koliko su kupci čekali ove "
        "sedmice.",
        "hr": "Očekivano čekanje: oko {minutes} min, prema tome koliko su kupci čekali ovaj "
        "tjedan.",
        "sr": "Očekivano čekanje: oko {minutes} min, prema tome koliko su kupci čekali ove "
        "nedelje.",
        "ru": "Ожидаемое время ожидания: около {minutes} мин, по данным о том, сколько ждали "
        "клиенты на этой неделе.",
        "fa": "زمان انتظار تقریبی: حدود {minutes} دقیقه، بر اساس مدت انتظار مشتریان در این هفته.",
    },
    "queue_no_estimate": {
        "en": "We can't estimate the wait yet.",
        "bs": "Vrijeme čekanja još ne možemo procijeniti.",
        "hr": "Vrijeme čekanja još ne možemo procijeniti.",
        "sr": "Vreme čekanja još ne možemo da procenimo.",
        "ru": "Пока мы не можем оценить время ожидания.",
        "fa": "هنوز نمی‌توانیم زمان انتظار را تخمین بزنیم.",
    },
    "agent_joined": {
        "en": "{agent} joined the conversation.",
        "bs": "{agent} se pridružio/la razgovoru.",
        "hr": "{agent} se pridružio/la razgovoru.",
        "sr": "{agent} se pridružio/la razgovoru.",
        "ru": "{agent} присоединяется к разговору.",
        "fa": "{agent} به گفتگو پیوست.",
    },
    "agent_transferred": {
        "en": "You are now talking to {agent}.",
        "bs": "Sada razgovarate s osobom: {agent}.",
        "hr": "Sada razgovarate s osobom: {agent}.",
        "sr": "Sada razgovarate sa osobom: {agent}.",
        "ru": "Теперь с вами общается {agent}.",
        "fa": "اکنون با {agent} صحبت می‌کنید.",
    },
    # Business hours (bot/handoff/hours.py): a handoff while the team is closed
    "closed_now": {
        "en": "We're closed now.",
        "bs": "Trenutno ne radimo.",
        "hr": "Trenutačno ne radimo.",
        "sr": "Trenutno ne radimo.",
        "ru": "Сейчас мы не работаем.",
        "fa": "الان تعطیل هستیم.",
    },
    "queue_opens": {
        "en": "We open at {opens} ({zone} time).",
        "bs": "Otvaramo: {opens} (vrijeme: {zone}).",
        "hr": "Otvaramo: {opens} (vrijeme: {zone}).",
        "sr": "Otvaramo: {opens} (vreme: {zone}).",
        "ru": "Откроемся: {opens} (время: {zone}).",
        "fa": "شروع کار ما: {opens} (به وقت {zone}).",
    },
    "closed_queued": {
        "en": "Your conversation is queued: a person will answer you here when we're back, with "
        "everything you've written so far.",
        "bs": "Vaš razgovor je u redu čekanja: neko iz tima će vam odgovoriti ovdje kad se "
        "vratimo i vidjet će sve što ste dosad napisali.",
        "hr": "Vaš je razgovor u redu čekanja: netko iz tima odgovorit će vam ovdje kad se "
        "vratimo i vidjet će sve što ste dosad napisali.",
        "sr": "Vaš razgovor je u redu čekanja: neko iz tima će vam odgovoriti ovde kad se "
        "vratimo i videće sve što ste do sada napisali.",
        "ru": "Ваш разговор поставлен в очередь: сотрудник ответит вам здесь, когда мы "
        "вернёмся, и увидит всё, что вы написали.",
        "fa": "گفتگوی شما در صف است: وقتی برگشتیم یکی از همکارانمان همین‌جا پاسخ می‌دهد و همه‌ی "
        "نوشته‌هایتان را می‌بیند.",
    },
    "leave_email": {
        "en": "If you'd like an answer by e-mail, just write your e-mail address here.",
        "bs": "Ako želite odgovor e-poštom, samo ovdje napišite svoju e-mail adresu.",
        "hr": "Ako želite odgovor e-poštom, samo ovdje napišite svoju adresu e-pošte.",
        "sr": "Ako želite odgovor imejlom, samo ovde napišite svoju imejl adresu.",
        "ru": "Если хотите получить ответ по электронной почте, просто напишите здесь свой адрес.",
        "fa": "اگر می‌خواهید پاسخ را با ایمیل بگیرید، کافی است نشانی ایمیل خود را اینجا بنویسید.",
    },
    "email_saved": {
        "en": "Thanks! We'll write to {email} when we're back.",
        "bs": "Hvala! Pisat ćemo vam na {email} kad se vratimo.",
        "hr": "Hvala! Pisat ćemo vam na {email} kad se vratimo.",
        "sr": "Hvala! Pisaćemo vam na {email} kad se vratimo.",
        "ru": "Спасибо! Мы напишем вам на {email}, когда вернёмся.",
        "fa": "ممنون! وقتی برگشتیم به {email} می‌نویسیم.",
    },
    "weekday_0": {
        "en": "Monday",
        "bs": "ponedjeljak",
        "hr": "ponedjeljak",
        "sr": "ponedeljak",
        "ru": "понедельник",
        "fa": "دوشنبه",
    },
    "weekday_1": {
        "en": "Tuesday",
        "bs": "utorak",
        "hr": "utorak",
        "sr": "utorak",
        "ru": "вторник",
        "fa": "سه‌شنبه",
    },
    "weekday_2": {
        "en": "Wednesday",
        "bs": "srijeda",
        "hr": "srijeda",
        "sr": "sreda",
        "ru": "среда",
        "fa": "چهارشنبه",
    },
    "weekday_3": {
        "en": "Thursday",
        "bs": "četvrtak",
        "hr": "četvrtak",
        "sr": "četvrtak",
        "ru": "четверг",
        "fa": "پنجشنبه",
    },
    "weekday_4": {
        "en": "Friday",
        "bs": "petak",
        "hr": "petak",
        "sr": "petak",
        "ru": "пятница",
        "fa": "جمعه",
    },
    "weekday_5": {
        "en": "Saturday",
        "bs": "subota",
        "hr": "subota",
        "sr": "subota",
        "ru": "суббота",
        "fa": "شنبه",
    },
    "weekday_6": {
        "en": "Sunday",
        "bs": "nedjelja",
        "hr": "nedjelja",
        "sr": "nedelja",
        "ru": "воскресенье",
        "fa": "یکشنبه",
    },
    # The web widget's own texts (served by GET /widget/texts; its greeting is "greet")
    "widget_title": {
        "en": "Brightcart support",
        "bs": "Brightcart podrška",
        "hr": "Brightcart podrška",
        "sr": "Brightcart podrška",
        "ru": "Поддержка Brightcart",
        "fa": "پشتیبانی Brightcart",
    },
    "widget_online": {
        "en": "online",
        "bs": "na mreži",
        "hr": "na mreži",
        "sr": "na mreži",
        "ru": "в сети",
        "fa": "آنلاین",
    },
    "widget_connecting": {
        "en": "connecting…",
        "bs": "povezivanje…",
        "hr": "povezivanje…",
        "sr": "povezivanje…",
        "ru": "подключение…",
        "fa": "در حال اتصال…",
    },
    "widget_reconnecting": {
        "en": "reconnecting…",
        "bs": "ponovno povezivanje…",
        "hr": "ponovno povezivanje…",
        "sr": "ponovno povezivanje…",
        "ru": "переподключение…",
        "fa": "در حال اتصال دوباره…",
    },
    "widget_placeholder": {
        "en": "Type your question…",
        "bs": "Upišite svoje pitanje…",
        "hr": "Upišite svoje pitanje…",
        "sr": "Unesite svoje pitanje…",
        "ru": "Введите ваш вопрос…",
        "fa": "سؤالتان را بنویسید…",
    },
    "widget_send": {
        "en": "Send",
        "bs": "Pošalji",
        "hr": "Pošalji",
        "sr": "Pošalji",
        "ru": "Отправить",
        "fa": "ارسال",
    },
    "widget_status_queued": {
        "en": "waiting for a person (position {position})",
        "bs": "čekate osobu (mjesto {position})",
        "hr": "čekate osobu (mjesto {position})",
        "sr": "čekate osobu (mesto {position})",
        "ru": "ожидание сотрудника (место {position})",
        "fa": "در انتظار یک همکار (نفر {position})",
    },
    "widget_offline": {
        "en": "offline",
        "bs": "van mreže",
        "hr": "izvan mreže",
        "sr": "van mreže",
        "ru": "не в сети",
        "fa": "آفلاین",
    },
    "widget_typing": {
        "en": "{agent} is typing…",
        "bs": "{agent} piše…",
        "hr": "{agent} piše…",
        "sr": "{agent} piše…",
        "ru": "{agent} печатает…",
        "fa": "{agent} در حال نوشتن است…",
    },
    "widget_open": {
        "en": "Open chat",
        "bs": "Otvori razgovor",
        "hr": "Otvori razgovor",
        "sr": "Otvori razgovor",
        "ru": "Открыть чат",
        "fa": "باز کردن گفتگو",
    },
    "widget_close": {
        "en": "Close chat",
        "bs": "Zatvori razgovor",
        "hr": "Zatvori razgovor",
        "sr": "Zatvori razgovor",
        "ru": "Закрыть чат",
        "fa": "بستن گفتگو",
    },
}

WIDGET_TEXTS = {  # the widget's name for a text → the catalog's key
    "title": "widget_title",
    "online": "widget_online",
    "connecting": "widget_connecting",
    "reconnecting": "widget_reconnecting",
    "placeholder": "widget_placeholder",
    "send": "widget_send",
    "open": "widget_open",
    "close": "widget_close",
    "status_queued": "widget_status_queued",
    "offline": "widget_offline",
    "typing": "widget_typing",
    "greeting": "greet",
}
RIGHT_TO_LEFT = frozenset({"fa", "ar", "he", "ur", "ps", "yi", "dv", "ckb"})


def direction(language: str | None) -> str:
    """`rtl` for a language written right to left (Persian here), else `ltr`."""
    return "rtl" if base(language) in RIGHT_TO_LEFT else "ltr"


def widget_texts(language: str | None) -> dict[str, str]:
    """The web widget's own texts in `language`, with its direction (`dir`)."""
    texts = {name: t(key, language) for name, key in WIDGET_TEXTS.items()}
    return {**texts, "dir": direction(language)}


def t(key: str, language: str | None = None, **values: object) -> str:
    """The text for `key` in `language` (`sr-Cyrl`: Serbian in Cyrillic), else in English."""
    texts = TEXTS[key]
    lang = base(language or FALLBACK)
    text = texts.get(lang) or texts[FALLBACK]
    if lang == "sr" and (language or "").replace("_", "-").lower().endswith("-cyrl"):
        text = latin_to_cyrillic(text)  # before the values: names stay as they are
    return text.format(**values) if values else text
